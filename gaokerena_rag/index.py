"""The index folder: manifest, generations, the atomic swap, and the mismatch checks.

::

    my-index/
      manifest.json        the commit point: schema, embedder, normalizer, counts, timestamps,
                           and which generation folder is live
      gen-000004/
        dense.faiss        FAISS, keyed by passage id (a Milvus index: the manifest names its
                           collection instead, see ``milvus_store``)
        bm25-words/        BM25 (bm25s) over words (+ pids.npy, tokenizer.json)
        tfidf-char4/       TF-IDF cosine over character 4-grams
        passages.sqlite    passage text, document metadata, content hashes

This module holds the settings, the mismatch checks and ``open_index`` (which checks every
file against the manifest); ``index_writer`` writes generations, ``manifest`` reads and
validates the manifest.
"""

from __future__ import annotations

import errno
import re
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

from .bm25_store import BM25Side
from .chunking import Chunker
from .embedders import DEFAULT_EMBEDDER, Embedder
from .manifest import (MANIFEST, SCHEMA_VERSION, IndexCorruptError, IndexError_,  # noqa: F401
                       IndexMismatchError, IndexNotFoundError, generation_dir, read_manifest)
from .normalize import NORMALIZER_VERSION, PersianTokenizer
from .passage_store import PassageStore
from .stores import DenseStore, LexicalSide, open_dense, split_dense
from .tfidf_store import TfidfSide



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
DENSE_KINDS = ("flat", "ivf", "ivfpq")
DEFAULT_LEXICAL = (LexicalSpec(PersianTokenizer(), "bm25"), LexicalSpec(PersianTokenizer(ngram=4), "tfidf"))


@dataclass(frozen=True)
class IndexSettings:
    """How passages are cut, embedded and indexed. Stored in the manifest."""

    embedder: str = DEFAULT_EMBEDDER
    dense_kind: str = "flat"  # flat (exact), ivf, ivfpq (approximate; ivfpq keeps dim/8 bytes a vector)
    dense_store: str = "faiss"  # or "milvus[:PATH_OR_URI]" (stores.DENSE_BACKENDS)
    chunk_words: int = 200
    chunk_overlap: int = 30
    embed_max_words: int | None = None  # cap on the words of (title + passage) that are embedded
    # cap on the characters embedded (a 200-word Persian passage is about 1,300): hostile runs
    # without spaces cannot make one passage cost minutes to embed
    embed_max_chars: int | None = 4000
    lexical: tuple[LexicalSpec, ...] = DEFAULT_LEXICAL

    def __post_init__(self) -> None:
        names = [t.name for t in self.lexical]
        if len(set(names)) != len(names):
            raise ValueError(f"lexical tokenizers must differ in kind, got {names}")
        if self.dense_kind not in DENSE_KINDS:
            raise ValueError(f"dense_kind must be one of {DENSE_KINDS}, got {self.dense_kind!r}")
        split_dense(self.dense_store)

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


def dense_text(title: str, text: str, max_words: int | None, max_chars: int | None = None,
               max_word_chars: int | None = None) -> str:
    """What the embedder sees for a passage: its document title, then the passage, capped (in words,
    in characters, and each run without a space to ``max_word_chars``: such a run costs the embedder
    a token per character, and a passage cut from a 2-million-character token would take seconds)."""
    full = _with_title(title, text)
    if max_word_chars:
        full = re.sub(rf"(\S{{{max_word_chars}}})\S+", r"\1", full)
    if max_words:
        words = full.split()
        if len(words) > max_words:
            full = " ".join(words[:max_words])
    return full[:max_chars] if max_chars else full


def lexical_text(title: str, text: str) -> str:
    return _with_title(title, text)


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


@dataclass
class IndexFiles:
    """The loaded parts of one live generation."""

    path: Path
    manifest: dict[str, Any]
    dense: DenseStore
    lexical: dict[str, LexicalSide]  # BM25Side or TfidfSide, by tokenizer name: "words", "char4"
    store: PassageStore


def open_index(path: Path | str, embedder: Embedder | None = None, nprobe: int | None = None) -> IndexFiles:
    """Load the live generation of an index folder, checking it fits ``embedder`` and that every
    file is there, readable and agrees with the manifest (else an ``IndexCorruptError`` naming it)."""
    path = Path(path)
    manifest = read_manifest(path)
    check_compatible(manifest, path, embedder)
    live = generation_dir(path, manifest["generation"])
    for name, entry in (manifest.get("files") or {}).items():
        file = live / name
        if not file.is_file():
            raise IndexCorruptError(file, "missing")
        if file.stat().st_size != entry["bytes"]:
            raise IndexCorruptError(file, f"{file.stat().st_size:,} bytes, but {entry['bytes']:,} were written")
    emb, entry = manifest["embedder"], manifest["dense"]
    where = live / "dense.faiss" if entry.get("backend", "faiss") == "faiss" else path / MANIFEST
    dense = _load_part(where, lambda _f: open_dense(entry, live, index_dir=path, dim=emb["dim"], nprobe=nprobe))
    if dense.dim != emb["dim"] or dense.count != entry["ntotal"]:
        dense.close()
        raise IndexCorruptError(where, f"holds {dense.count} vectors of dimension {dense.dim}, "
                                       f"but the manifest says {entry['ntotal']} of dimension {emb['dim']}")
    lexical = {}
    for spec_data in manifest["normalizer"]["lexical"]:
        spec = _load_part(path / MANIFEST, lambda _f: LexicalSpec.from_dict(spec_data))
        lexical[spec.name] = _load_part(live / spec.folder, spec.load)
    store = _load_part(live / "passages.sqlite", _open_store)
    counts = manifest["counts"]
    try:
        found = _load_part(live / "passages.sqlite", lambda _f: store.counts())  # a damaged file fails here
    except IndexCorruptError:
        store.close()
        raise
    if found != (counts["documents"], counts["passages"]):
        store.close()
        raise IndexCorruptError(live / "passages.sqlite", f"holds {found} (documents, passages), but the "
                                                          f"manifest says {(counts['documents'], counts['passages'])}")
    for name, side in lexical.items():
        if len(side.pids) != counts["passages"]:
            raise IndexCorruptError(live / name, f"indexes {len(side.pids)} passages, not {counts['passages']}")
    return IndexFiles(path=path, manifest=manifest, dense=dense, lexical=lexical, store=store)


def _open_store(file: Path) -> PassageStore:
    if not file.is_file():  # sqlite would create an empty one
        raise FileNotFoundError(errno.ENOENT, "missing", str(file))
    return PassageStore(file, readonly=True)


def _load_part(file: Path, load):
    """``load(file)``, with whatever a damaged or missing file raises turned into an ``IndexCorruptError``."""
    try:
        return load(file)
    except IndexError_:
        raise
    except FileNotFoundError:
        raise IndexCorruptError(file, "missing") from None
    except (OSError, RuntimeError, ValueError, TypeError, KeyError, AttributeError, EOFError,
            sqlite3.DatabaseError) as exc:
        raise IndexCorruptError(file, f"unreadable ({type(exc).__name__}: {str(exc).strip()[:200]})") from None
