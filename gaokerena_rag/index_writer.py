"""Writing an index folder: one new generation per build or update, swapped in atomically.

A build or update writes a new generation beside the live one (``.gen-000005.tmp``),
renames it into place, then replaces ``manifest.json`` with one ``os.replace``.
A process killed at any point leaves the previous manifest, and so the previous
generation, loadable and answering exactly as before. Writers take an exclusive
``flock`` on ``.lock``; leftovers of killed writers are removed by the next one, and
only folders this code wrote are ever removed: a temporary generation carries a mark,
a committed one its own manifest naming it. Names from a manifest are validated first.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from .documents import Document, Passage
from .embedders import Embedder
from .index import IndexSettings, check_compatible, dense_text, lexical_text, now, open_index
from .manifest import (GENERATION, MANIFEST, SCHEMA_VERSION, IndexCorruptError, IndexError_, IndexMismatchError,
                       file_digests, generation_dir, read_manifest)
from .normalize import NORMALIZER_VERSION
from .passage_store import PassageStore
from .progress import BuildProgress, Counter, as_progress
from .stores import DenseStore, create_dense, split_dense

TMP_MARK = ".gaokerena-tmp"  # written into every temporary generation, so only those are ever removed
SPOOL = "shards"  # where an encoder may spool embedded shards inside the temporary generation
# embeds passage texts in order, telling the counter as it goes; may spool shards under the folder
# it is given (removed after)
Encoder = Callable[[list[str], Path, Counter], np.ndarray]
LEXICAL_SAMPLE = 300  # passages each lexical side is timed on before a build, to price it in advance


class IndexWriter:
    """Writes one new generation of an index folder; ``commit()`` makes it live atomically.

    Use as a context manager: leaving the block without ``commit()`` (an error, an
    interrupt) discards the new generation and leaves the live index untouched.
    """

    def __init__(self, path: Path | str, settings: IndexSettings, embedder: Embedder, fresh: bool = False,
                 encoder: Encoder | None = None):
        """``fresh`` starts from an empty generation instead of the live one (a rebuild; it also
        replaces an index whose manifest is damaged, deleting nothing that manifest names);
        ``encoder`` embeds the passages (default: ``embedder.embed_passages`` in this process;
        ``index_build.ray_engine`` spreads it over Ray actors)."""
        self.path = Path(path)
        self.settings = settings
        self.embedder = embedder
        self.encoder = encoder or (lambda texts, _spool, progress: embedder.embed_passages(texts, progress=progress))
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            self._lock = open(self.path / ".lock", "a+")
        except OSError as exc:
            raise IndexError_(f"{self.path}: cannot write the index here ({exc.strerror or exc}); "
                              "a read-only index can be queried but not built or updated") from None
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock.close()
            raise IndexError_(f"{self.path}: another build or update is writing this index") from None
        try:
            self._open(fresh)
        except BaseException:
            self.abort()
            raise

    def _open(self, fresh: bool) -> None:
        settings, embedder = self.settings, self.embedder
        self.previous = None
        if (self.path / MANIFEST).exists():
            try:
                self.previous = read_manifest(self.path)
            except (IndexCorruptError, IndexMismatchError):
                if not fresh:
                    raise
        self._clean_leftovers()
        if self.previous is not None and not fresh:
            check_compatible(self.previous, self.path, embedder, settings.lexical)
            dense = self.previous["dense"]
            was = (dense.get("backend", "faiss"), dense["kind"])
            if was != (split_dense(settings.dense_store)[0], settings.dense_kind):
                raise IndexMismatchError(
                    f"{self.path}: index uses a {was[1]!r} dense index in {was[0]}, not {settings.dense_kind!r} "
                    f"in {split_dense(settings.dense_store)[0]}; build a new index (or pass --fresh) to change it"
                )
        names = [c.name[1:-4] if c.name.startswith(".") and c.name.endswith(".tmp") else c.name
                 for c in self.path.iterdir()]
        taken = [int(n[4:]) for n in names if GENERATION.fullmatch(n)]  # never reuse a name that is there
        if self.previous:
            taken.append(int(self.previous["generation"][4:]))
        self.generation = f"gen-{max(taken, default=0) + 1:06d}"
        self.tmp = self.path / f".{self.generation}.tmp"
        try:
            self.tmp.mkdir()
            (self.tmp / TMP_MARK).write_text("a generation being written by gaokerena-rag\n", "utf-8")
        except OSError as exc:
            raise IndexError_(f"{self.path}: cannot write the index here ({exc.strerror or exc})") from None
        self.fresh = fresh
        self._committed = False
        self.dense: DenseStore | None = None
        self.replaced: DenseStore | None = None  # the live store, removed once this generation is committed
        if self.previous and not fresh:
            live = open_index(self.path)  # checked against its manifest before anything is copied
            live.store.close()
            shutil.copy2(live.path / self.previous["generation"] / "passages.sqlite", self.tmp / "passages.sqlite")
            self.replaced = live.dense
            self.dense = live.dense.successor(index_dir=self.path, generation=self.generation)
        self.store = PassageStore(self.tmp / "passages.sqlite", readonly=False)
        self._next_pid = self.store.max_pid() + 1
        self._pending: list[tuple[int, str]] = []  # (pid, dense text) not yet embedded
        self.embed_seconds = 0.0  # spent in the encoder (the rest of a build runs in this process)

    # ---- context manager ---------------------------------------------
    def __enter__(self) -> "IndexWriter":
        return self

    def __exit__(self, *exc) -> None:
        if not self._committed:
            self.abort()

    def _clean_leftovers(self) -> None:
        """Remove what killed writers left: temporary generations (marked as ours) and
        generations that are not live (each holds its own manifest naming it)."""
        live = self.previous["generation"] if self.previous else None
        for child in self.path.iterdir():
            if child.is_symlink() or not child.is_dir():
                continue
            if child.name.startswith(".") and GENERATION.fullmatch(child.name[1:-4]) and child.name.endswith(".tmp"):
                if (child / TMP_MARK).is_file():
                    shutil.rmtree(child, ignore_errors=True)  # ours: a killed writer's
            elif GENERATION.fullmatch(child.name) and child.name != live and self.previous is not None:
                _remove_generation(child)

    # ---- changes -------------------------------------------------------
    def existing_hashes(self) -> dict[str, str]:
        return self.store.doc_hashes()

    def live_hashes(self) -> dict[str, str]:
        """The documents of the live generation this writer replaces (none without a readable manifest);
        for an update they are ``existing_hashes()`` before any change, for a fresh build what it drops."""
        if self.previous is None:
            return {}
        store = PassageStore(generation_dir(self.path, self.previous["generation"]) / "passages.sqlite")
        try:
            return store.doc_hashes()
        finally:
            store.close()

    def delete(self, doc_ids: Sequence[str]) -> int:
        pids = self.store.delete_docs(doc_ids)
        if self.dense is not None:
            self.dense.remove(pids)
        return len(pids)

    def add(self, doc: Document) -> list[Passage]:
        """Chunk a document and queue its passages for embedding (see ``flush``)."""
        passages = []
        for i, text in enumerate(self.settings.chunker.chunk(doc.text)):
            passages.append(Passage(self._next_pid, doc.id, i, text, doc.title, doc.source, doc.url, doc.metadata))
            self._next_pid += 1
        self.store.add(doc, passages)
        self._pending.extend(
            (p.pid, dense_text(p.title, p.text, self.settings.embed_max_words, self.settings.embed_max_chars,
                               self.settings.chunker.max_word_chars)) for p in passages
        )
        return passages

    def pending(self) -> int:
        return len(self._pending)

    def flush(self, progress: bool | BuildProgress = False) -> None:
        """Embed the queued passages and add them to the dense index."""
        if not self._pending:
            return
        pids = np.array([p for p, _ in self._pending], np.int64)
        t0 = time.perf_counter()
        shown = as_progress(progress)
        with shown.stage("embedding", len(pids), "passages", announce=True) as count:
            vectors = self.encoder([t for _, t in self._pending], self.tmp / SPOOL, count)
        if shown is not progress:
            shown.finish()
        self.embed_seconds += time.perf_counter() - t0
        if len(vectors) != len(pids) or (len(vectors) and vectors.shape[1] != self.embedder.dim):
            raise ValueError(f"the encoder returned {vectors.shape} vectors for {len(pids)} passages of "
                             f"dimension {self.embedder.dim}")
        shutil.rmtree(self.tmp / SPOOL, ignore_errors=True)
        if self.dense is None:
            self._new_dense(vectors)
        self.dense.add(vectors, pids)
        self._pending.clear()

    def _new_dense(self, train_vectors: np.ndarray | None) -> None:
        old = (self.previous or {}).get("dense", {})
        self.dense = create_dense(self.settings.dense_store, self.embedder.dim,
                                  self.settings.dense_kind if train_vectors is not None else "flat", train_vectors,
                                  index_dir=self.path, generation=self.generation, prefix=old.get("prefix"))

    # ---- commit ----------------------------------------------------------
    def price_lexical(self, progress: BuildProgress) -> None:
        """Time each lexical side on a sample of the passages and tell ``progress`` what it will cost
        (so the bar's total holds the stages after embedding from the start)."""
        _docs, passages = self.store.counts()
        sample = [(pid, lexical_text(title, text)) for pid, title, text in self.store.iter_texts(LEXICAL_SAMPLE)]
        for spec in self.settings.lexical:
            t0 = time.perf_counter()
            spec.build(iter(sample))
            progress.expect(spec.folder, (time.perf_counter() - t0) * passages / max(len(sample), 1))

    def commit(self, extra: dict[str, Any] | None = None, progress: bool | BuildProgress = False) -> dict[str, Any]:
        """Write the generation, swap it in, and return the new manifest."""
        shown = as_progress(progress)
        if shown.enabled:
            if self._pending:
                shown.plan("embedding")
            else:
                shown.skip("embedding")
            self.price_lexical(shown)
        self.flush(shown)
        self.store.commit()
        _docs, passages = self.store.counts()
        for spec in self.settings.lexical:
            with shown.stage(spec.folder, passages, "passages") as count:
                items = ((pid, lexical_text(title, text)) for pid, title, text in self.store.iter_texts())
                spec.build(items, progress=count).save(self.tmp / spec.folder)
        shown.stage("saving", brief=True)
        if self.dense is None:
            self._new_dense(None)
        dense = self.dense.save(self.tmp)
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
            "dense": {"kind": s.dense_kind, "ntotal": int(self.dense.count), **dense},
            "chunking": {"chunk_words": s.chunk_words, "chunk_overlap": s.chunk_overlap,
                         "embed_max_words": s.embed_max_words, "embed_max_chars": s.embed_max_chars},
            "counts": {"documents": docs, "passages": passages},
            **(extra or {}),
            "files": file_digests(self.tmp, skip=(TMP_MARK,)),  # sizes and SHA-256, checked by open_index and index check
        }
        with open(self.tmp / MANIFEST, "w", encoding="utf-8") as fh:
            json.dump(manifest, fh, ensure_ascii=False, indent=2)
        (self.tmp / TMP_MARK).unlink()
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
            _remove_generation(generation_dir(self.path, self.previous["generation"], must_exist=False))
        if self.replaced is not None and self.replaced is not self.dense:
            self.replaced.discard()
            self.replaced.close()
        self.dense.clean()  # what killed writers left outside the folder (their Milvus collections)
        self.dense.close()
        self._release()
        if shown is not progress:
            shown.finish()
        return manifest

    def abort(self) -> None:
        try:
            self.store.close()
        except Exception:  # noqa: BLE001 - already closed
            pass
        tmp = getattr(self, "tmp", None)
        if tmp is not None and (tmp / TMP_MARK).is_file():
            shutil.rmtree(tmp, ignore_errors=True)
        dense, replaced = getattr(self, "dense", None), getattr(self, "replaced", None)
        if dense is not None and dense is not replaced:
            dense.discard()  # this generation's own collection; the live one is untouched
            dense.close()
        if replaced is not None:
            replaced.close()
        self._release()

    def _release(self) -> None:
        if not self._lock.closed:
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()


def _remove_generation(folder: Path) -> None:
    """Delete a generation folder of this index, and only one: a real folder whose own manifest
    names it (what ``commit`` wrote there). Anything else is left where it is."""
    if folder.is_symlink() or not folder.is_dir() or not GENERATION.fullmatch(folder.name):
        return
    try:
        own = json.loads((folder / MANIFEST).read_text("utf-8"))
    except (OSError, ValueError):
        return
    if isinstance(own, dict) and own.get("generation") == folder.name:
        shutil.rmtree(folder, ignore_errors=True)


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
