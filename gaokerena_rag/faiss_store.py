"""The dense side on disk: a FAISS inner-product index keyed by passage id.

``flat`` (exact, ``IndexIDMap2(IndexFlatIP)``) is the default; ``ivf``
(``IndexIVFFlat``, inverted lists over k-means cells, ``nprobe`` searched) is the
approximate option for corpora past a million passages. Both map passage ids
natively, so updates delete and add in place.
"""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np

KINDS = ("flat", "ivf")


def new_index(dim: int, kind: str = "flat", train_vectors: np.ndarray | None = None,
              nlist: int | None = None) -> faiss.Index:
    if kind == "flat":
        return faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
    if kind == "ivf":
        if train_vectors is None or len(train_vectors) == 0:
            raise ValueError("an ivf index needs vectors to train its cells")
        n = len(train_vectors)
        nlist = nlist or max(1, min(int(4 * np.sqrt(n)), n // 39 or 1))
        quantizer = faiss.IndexFlatIP(dim)
        index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
        index.train(np.ascontiguousarray(train_vectors, np.float32))
        index.nprobe = min(nlist, 16)
        return index
    raise ValueError(f"unknown dense index kind {kind!r}; expected one of {KINDS}")


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


class FaissStore:
    """A loaded FAISS index as a ``stores.DenseStore``; ``index`` is the FAISS object (for updates)."""

    def __init__(self, index: faiss.Index):
        self.index = index

    @property
    def dim(self) -> int:
        return int(self.index.d)

    @property
    def count(self) -> int:
        return int(self.index.ntotal)

    def search(self, vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        return search(self.index, vectors, k)


def save(index: faiss.Index, path: Path) -> None:
    faiss.write_index(index, str(path))


def load(path: Path, nprobe: int | None = None) -> faiss.Index:
    index = faiss.read_index(str(path))
    if nprobe and hasattr(index, "nprobe"):
        index.nprobe = nprobe
    return index
