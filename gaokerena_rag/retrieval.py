"""Hybrid retrieval: dense top-k and BM25 top-k, fused by weighted reciprocal rank fusion.

``HybridRetriever.from_index(path)`` loads an index folder with the embedder its
manifest names (or checks the one given against it) and answers single or batch
queries. Each ``RetrievedPassage`` carries its ranks and scores on both sides.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from . import faiss_store
from .embedders import Embedder, load_embedder
from .index import IndexFiles, check_compatible, open_index


@dataclass(frozen=True)
class RetrievalConfig:
    """How the two sides are searched and fused."""

    k: int = 10
    dense_k: int = 50
    bm25_k: int = 50
    rrf_k: float = 60.0
    dense_weight: float = 1.0
    bm25_weight: float = 1.0
    mode: str = "hybrid"  # hybrid | dense | bm25
    nprobe: int | None = None  # ivf indexes only

    def __post_init__(self) -> None:
        if self.mode not in ("hybrid", "dense", "bm25"):
            raise ValueError(f"mode must be hybrid, dense or bm25, got {self.mode!r}")
        if self.k < 1 or self.dense_k < 1 or self.bm25_k < 1:
            raise ValueError("k, dense_k and bm25_k must be >= 1")


@dataclass
class RetrievedPassage:
    """One result: the passage, where it came from, and how it ranked."""

    rank: int
    score: float  # fused score (RRF), or the single side's score in dense/bm25 mode
    pid: int
    passage_id: str
    doc_id: str
    title: str
    text: str
    source: str
    url: str
    dense_rank: int | None = None
    dense_score: float | None = None
    bm25_rank: int | None = None
    bm25_score: float | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def rrf(rankings: Sequence[tuple[Sequence[int], float]], k: float = 60.0) -> dict[int, float]:
    """Weighted reciprocal rank fusion: ``sum(w / (k + rank))`` over the lists holding an id (rank from 1)."""
    fused: dict[int, float] = {}
    for ids, weight in rankings:
        for rank, pid in enumerate(ids, start=1):
            fused[pid] = fused.get(pid, 0.0) + weight / (k + rank)
    return fused


class HybridRetriever:
    """Dense ∥ BM25 over one index folder, fused by RRF."""

    def __init__(self, files: IndexFiles, embedder: Embedder | None, config: RetrievalConfig | None = None):
        self.files = files
        self.embedder = embedder
        self.config = config or RetrievalConfig()
        if self.config.mode != "bm25" and embedder is None:
            raise ValueError("dense and hybrid retrieval need an embedder")
        self.last_timings: dict[str, float] = {}

    @classmethod
    def from_index(cls, path: str | Path, embedder: Embedder | None = None,
                   config: RetrievalConfig | None = None, **embedder_options) -> "HybridRetriever":
        """Open an index; without ``embedder``, load the one its manifest names."""
        config = config or RetrievalConfig()
        files = open_index(path, embedder, nprobe=config.nprobe)
        if embedder is None and config.mode != "bm25":
            embedder = load_embedder(files.manifest["embedder"]["spec"], **embedder_options)
            check_compatible(files.manifest, files.path, embedder)
        return cls(files, embedder, config)

    @property
    def manifest(self) -> dict[str, Any]:
        return self.files.manifest

    def retrieve(self, query: str, k: int | None = None) -> list[RetrievedPassage]:
        return self.retrieve_many([query], k)[0]

    def retrieve_many(self, queries: Sequence[str], k: int | None = None) -> list[list[RetrievedPassage]]:
        """Retrieve for many queries at once (queries are embedded in one batch)."""
        cfg = self.config
        k = k or cfg.k
        queries = [q if isinstance(q, str) else "" for q in queries]
        t0 = time.perf_counter()
        dense_hits: list[tuple[np.ndarray, np.ndarray]] = [(np.zeros(0), np.zeros(0, np.int64))] * len(queries)
        if cfg.mode in ("hybrid", "dense") and queries:
            vectors = self.embedder.embed_queries(queries)
            t_embed = time.perf_counter()
            scores, pids = faiss_store.search(self.files.dense, vectors, max(cfg.dense_k, k))
            dense_hits = [(s[p >= 0], p[p >= 0]) for s, p in zip(scores, pids)]
        else:
            t_embed = time.perf_counter()
        t_dense = time.perf_counter()
        bm25_hits = [(np.zeros(0), np.zeros(0, np.int64))] * len(queries)
        if cfg.mode in ("hybrid", "bm25"):
            bm25_hits = self.files.bm25.search_many(queries, max(cfg.bm25_k, k))
        t_bm25 = time.perf_counter()
        results = [self._fuse(d, b, k) for d, b in zip(dense_hits, bm25_hits)]
        t_end = time.perf_counter()
        self.last_timings = {"embed_s": t_embed - t0, "dense_s": t_dense - t_embed,
                             "bm25_s": t_bm25 - t_dense, "fuse_s": t_end - t_bm25, "total_s": t_end - t0}
        return results

    def _fuse(self, dense: tuple[np.ndarray, np.ndarray], bm25: tuple[np.ndarray, np.ndarray],
              k: int) -> list[RetrievedPassage]:
        cfg = self.config
        d_scores, d_pids = dense
        b_scores, b_pids = bm25
        d_rank = {int(p): (i + 1, float(s)) for i, (p, s) in enumerate(zip(d_pids, d_scores))}
        b_rank = {int(p): (i + 1, float(s)) for i, (p, s) in enumerate(zip(b_pids, b_scores))}
        if cfg.mode == "dense":
            order = [(int(p), float(s)) for p, s in zip(d_pids[:k], d_scores[:k])]
        elif cfg.mode == "bm25":
            order = [(int(p), float(s)) for p, s in zip(b_pids[:k], b_scores[:k])]
        else:
            fused = rrf([(list(d_rank), cfg.dense_weight), (list(b_rank), cfg.bm25_weight)], cfg.rrf_k)
            order = sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))[:k]
        passages = self.files.store.get([p for p, _ in order])
        out = []
        for rank, (pid, score) in enumerate(order, start=1):
            p = passages.get(pid)
            if p is None:  # the index and the store disagree: never invent a passage
                continue
            dr, br = d_rank.get(pid), b_rank.get(pid)
            out.append(RetrievedPassage(
                rank=len(out) + 1, score=score, pid=pid, passage_id=p.passage_id, doc_id=p.doc_id,
                title=p.title, text=p.text, source=p.source, url=p.url,
                dense_rank=dr[0] if dr else None, dense_score=dr[1] if dr else None,
                bm25_rank=br[0] if br else None, bm25_score=br[1] if br else None, metadata=p.metadata,
            ))
        return out

    def info(self) -> dict[str, Any]:
        m = self.files.manifest
        return {"path": str(self.files.path), "documents": m["counts"]["documents"],
                "passages": m["counts"]["passages"], "embedder": m["embedder"]["spec"],
                "updated_at": m["updated_at"], "generation": m["generation"]}
