"""The dense side on disk: a FAISS inner-product index keyed by passage id (the default store).

``flat`` (exact, ``IndexIDMap2(IndexFlatIP)``) is the default; ``ivf`` (``IndexIVFFlat``,
inverted lists over k-means cells, ``nprobe`` searched) and ``ivfpq`` (``IndexIVFPQ``: the
same cells, each vector kept as a product-quantized code of ``dim / 8`` bytes instead of
``4 * dim``) are the approximate options for corpora past a million passages. All map
passage ids natively, so updates delete and add in place. ``FaissStore`` is the file
``dense.faiss`` of a generation behind the ``stores.DenseStore`` interface.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import faiss
import numpy as np

KINDS = ("flat", "ivf", "ivfpq")
FILE = "dense.faiss"
TRAIN_PER_CELL = 50  # training points per IVF cell (FAISS warns under 39, samples down past 256)


def _nlist(n: int) -> int:
    return max(1, min(int(4 * np.sqrt(n)), n // 39 or 1))


def new_index(dim: int, kind: str = "flat", train_vectors: np.ndarray | None = None,
              nlist: int | None = None) -> faiss.Index:
    if kind == "flat":
        return faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
    if kind not in KINDS:
        raise ValueError(f"unknown dense index kind {kind!r}; expected one of {KINDS}")
    if train_vectors is None or len(train_vectors) == 0:
        raise ValueError(f"an {kind} index needs vectors to train its cells")
    n = len(train_vectors)
    nlist = nlist or _nlist(n)
    quantizer = faiss.IndexFlatIP(dim)
    if kind == "ivf":
        index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
    else:
        m = next(m for m in (dim // 8, dim // 4, dim // 2, dim, 1) if m and dim % m == 0)
        nbits = int(min(8, max(1, np.log2(max(2, n // 4)))))  # k-means of 2**nbits centroids needs the points
        index = faiss.IndexIVFPQ(quantizer, dim, nlist, m, nbits, faiss.METRIC_INNER_PRODUCT)
    if n > TRAIN_PER_CELL * nlist:  # k-means needs tens of points a cell, not millions: a fixed sample
        train_vectors = train_vectors[np.random.default_rng(0).choice(n, TRAIN_PER_CELL * nlist, replace=False)]
    index.train(np.ascontiguousarray(train_vectors, np.float32))
    index.nprobe = min(nlist, 16)
    return index


def add(index: faiss.Index, vectors: np.ndarray, pids: np.ndarray) -> None:
    if len(pids):
        index.add_with_ids(np.ascontiguousarray(vectors, np.float32), np.asarray(pids, np.int64))


def remove(index: faiss.Index, pids) -> int:
    pids = np.asarray(list(pids), np.int64)
    if not len(pids):
        return 0
    return int(index.remove_ids(pids))


def search(index: faiss.Index, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-k (scores, pids) per query; missing slots have pid -1."""
    if index.ntotal == 0:
        n = len(queries)
        return np.zeros((n, 1), np.float32), -np.ones((n, 1), np.int64)
    return index.search(np.ascontiguousarray(queries, np.float32), max(1, min(k, index.ntotal)))


def save(index: faiss.Index, path: Path) -> None:
    faiss.write_index(index, str(path))


def load(path: Path, nprobe: int | None = None) -> faiss.Index:
    index = faiss.read_index(str(path))
    if nprobe and hasattr(index, "nprobe"):
        index.nprobe = nprobe
    return index


class FaissStore:
    """A FAISS index as a ``stores.DenseStore``; ``index`` is the FAISS object."""

    backend = "faiss"

    def __init__(self, index: faiss.Index, kind: str = "flat"):
        self.index = index
        self.kind = kind

    @classmethod
    def create(cls, dim: int, kind: str, train_vectors: np.ndarray | None = None, **_where) -> "FaissStore":
        return cls(new_index(dim, kind, train_vectors), kind)

    @classmethod
    def open(cls, entry: dict[str, Any], generation: Path, nprobe: int | None = None, **_where) -> "FaissStore":
        return cls(load(generation / FILE, nprobe=nprobe), entry["kind"])

    @property
    def dim(self) -> int:
        return int(self.index.d)

    @property
    def count(self) -> int:
        return int(self.index.ntotal)

    def search(self, vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        return search(self.index, vectors, k)

    def add(self, vectors: np.ndarray, pids: np.ndarray) -> None:
        add(self.index, vectors, pids)

    def remove(self, pids) -> int:
        return remove(self.index, pids)

    def vectors(self, pids) -> np.ndarray:
        """The stored vectors of ``pids`` (for ``ivfpq``: their decoded approximations)."""
        pids = [int(p) for p in pids]
        index = self.index
        if not isinstance(index, faiss.IndexIDMap2):
            index = faiss.extract_index_ivf(index)
            if index.direct_map.type != faiss.DirectMap.Hashtable:
                index.set_direct_map_type(faiss.DirectMap.Hashtable)  # passage ids are not 0..n-1
        if not pids:
            return np.zeros((0, self.dim), np.float32)
        return np.stack([index.reconstruct(p) for p in pids]).astype(np.float32)

    def successor(self, **_where) -> "FaissStore":
        """The store a new generation starts from: this one (loaded in memory; the file stays as it is)."""
        return self

    def clean(self) -> None:
        """Nothing outside generation folders to clean."""

    def save(self, generation: Path) -> dict[str, Any]:
        """Write ``dense.faiss`` into the generation folder; what the manifest records of it."""
        save(self.index, generation / FILE)
        inner = self.index if isinstance(self.index, faiss.IndexIDMap2) else faiss.extract_index_ivf(self.index)
        code = 4 * self.dim if isinstance(inner, faiss.IndexIDMap2) else int(inner.code_size)
        # code_bytes: what each vector itself takes; bytes_per_vector: the file (cells, codebooks) over all
        return {"backend": self.backend, "file": FILE, "code_bytes": code,
                "bytes_per_vector": round((generation / FILE).stat().st_size / max(1, self.count), 1)}

    def close(self) -> None:
        pass

    def discard(self) -> None:
        """Nothing outside the generation folder to remove."""
