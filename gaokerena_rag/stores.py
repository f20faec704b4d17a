"""The two small interfaces retrieval searches through: a dense store and a lexical side.

``DenseStore``: passage vectors keyed by pid: add, remove by pid, search, read back, and
persist into a generation (``faiss_store.FaissStore``: a file in the generation folder;
``milvus_store.MilvusStore``: a collection per generation in Milvus Lite or a Milvus server).
``LexicalSide``: its tokenizer, and top-k (scores, pids) of a query's tokens
(``bm25_store.BM25Side``, ``tfidf_store.TfidfSide``). A new vector store is one class with
the ``DenseStore`` methods plus its line in ``DENSE_BACKENDS``; the manifest's
``dense.backend`` names the one an index uses.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any, Protocol, Sequence, runtime_checkable

import numpy as np

from .normalize import PersianTokenizer

Hits = tuple[np.ndarray, np.ndarray]  # (scores, pids), best first

# backend name -> "module:class"; imported only when an index uses it (pymilvus is optional)
DENSE_BACKENDS = {"faiss": "gaokerena_rag.faiss_store:FaissStore",
                  "milvus": "gaokerena_rag.milvus_store:MilvusStore"}


@runtime_checkable
class DenseStore(Protocol):
    backend: str  # its name in DENSE_BACKENDS
    kind: str  # flat, ivf or ivfpq
    dim: int
    count: int

    def search(self, vectors: np.ndarray, k: int) -> Hits:
        """Top-k (scores, pids) per row of ``vectors``; missing slots have pid -1."""
        ...

    def add(self, vectors: np.ndarray, pids: np.ndarray) -> None: ...

    def remove(self, pids: Sequence[int]) -> int: ...

    def vectors(self, pids: Sequence[int]) -> np.ndarray:
        """The stored vectors of ``pids``, in that order."""
        ...

    def save(self, generation: Path) -> dict[str, Any]:
        """Make everything added durable as part of the generation folder ``generation``;
        returns what the manifest's ``dense`` entry records to open it again."""
        ...

    def successor(self, *, index_dir: Path, generation: str) -> "DenseStore":
        """The store generation ``generation`` starts from, holding this one's vectors; this one stays
        as it is until the new generation is committed."""
        ...

    def clean(self) -> None:
        """Remove what killed writers of this index left outside its folder."""
        ...

    def close(self) -> None: ...

    def discard(self) -> None:
        """Remove what this store holds outside the generation folder (a replaced or abandoned one)."""
        ...


def dense_backend(name: str):
    """The ``DenseStore`` class registered as ``name``."""
    if name not in DENSE_BACKENDS:
        raise ValueError(f"unknown dense store {name!r}; expected one of {sorted(DENSE_BACKENDS)}")
    module, _, cls = DENSE_BACKENDS[name].partition(":")
    try:
        return getattr(importlib.import_module(module), cls)
    except ImportError as exc:
        raise ImportError(f"the {name} dense store needs {exc.name}: pip install -c constraints.txt "
                          f"'gaokerena-rag[{name}]'") from None


def create_dense(spec: str, dim: int, kind: str, train_vectors: np.ndarray | None, *, index_dir: Path,
                 generation: str, prefix: str | None = None) -> DenseStore:
    """A new, empty store for generation ``generation`` of the index at ``index_dir``."""
    backend, location = split_dense(spec)
    return dense_backend(backend).create(dim, kind, train_vectors, index_dir=index_dir, generation=generation,
                                         location=location, prefix=prefix)


def open_dense(entry: dict[str, Any], generation: Path, *, index_dir: Path, dim: int,
               nprobe: int | None = None) -> DenseStore:
    """The store a manifest's ``dense`` entry names (no ``backend``: FAISS, as before there was a choice)."""
    return dense_backend(entry.get("backend", "faiss")).open(entry, generation, index_dir=index_dir, dim=dim,
                                                             nprobe=nprobe)


def split_dense(spec: str) -> tuple[str, str | None]:
    """``"faiss"`` or ``"milvus:PATH_OR_URI"`` (``"milvus"``: Milvus Lite inside the index folder)
    as (backend, location)."""
    backend, _, location = spec.partition(":")
    dense_backend(backend)
    return backend, location or None


@runtime_checkable
class LexicalSide(Protocol):
    tokenizer: PersianTokenizer
    pids: np.ndarray

    def search_tokens(self, tokens: Sequence[str], k: int) -> Hits:
        """Top-k (scores, pids) of the passages sharing a term with ``tokens``."""
        ...
