"""The lexical side on disk: a ``bm25s`` index over the Persian tokenizer, keyed by passage id.

bm25s numbers documents 0..N-1; ``pids.npy`` maps those positions to passage ids.
BM25 statistics are global, so an update rebuilds this part from the passage store
(seconds for 100k passages); the dense side is what updates incrementally.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Iterable

import bm25s
import numpy as np

from .normalize import PersianTokenizer
from .progress import Counter, counter


def top_positive(scores: np.ndarray, pids: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k best (scores, pids), best first, keeping only positive scores (a shared term)."""
    k = min(k, len(scores))
    if k <= 0:
        return np.zeros(0, np.float32), np.zeros(0, np.int64)
    top = np.argpartition(-scores, k - 1)[:k]
    top = top[np.argsort(-scores[top], kind="stable")]
    top = top[scores[top] > 0]
    return scores[top].astype(np.float32), pids[top]


class BM25Side:
    """A bm25s model plus the passage id of each of its rows."""

    scoring = "bm25"

    def __init__(self, model: bm25s.BM25 | None, pids: np.ndarray, tokenizer: PersianTokenizer):
        self.model = model
        self.pids = np.asarray(pids, np.int64)
        self.tokenizer = tokenizer
        self._df: np.ndarray | None = None

    def document_frequency(self, token: str) -> int:
        """In how many passages ``token`` (a token of this side's tokenizer) occurs."""
        if self.model is None:
            return 0
        if self._df is None:  # bm25s keeps one posting list per token: its length is the df
            indptr = np.asarray(self.model.scores["indptr"])
            self._df = np.diff(np.append(indptr, len(self.model.scores["data"])))
        i = self.model.vocab_dict.get(token)
        return int(self._df[i]) if i is not None else 0

    @classmethod
    def build(cls, items: Iterable[tuple[int, str]], tokenizer: PersianTokenizer, k1: float = 1.2,
              b: float = 0.75, progress: bool | Counter = False) -> "BM25Side":
        """``progress``: a bar of its own (True) or a ``Counter`` told of every passage tokenized
        (nearly all the time; bm25s's own bars stay off)."""
        count, close = counter(progress, None, f"bm25 {tokenizer.name}", "passage")
        pids, corpus = [], []
        for pid, text in items:
            pids.append(pid)
            corpus.append(tokenizer(text) or [""])
            count(1)
        model = None
        if corpus:
            model = bm25s.BM25(k1=k1, b=b)
            logging.getLogger("bm25s").setLevel(logging.WARNING)
            model.index(corpus, show_progress=False)
        close()
        return cls(model, np.array(pids, np.int64), tokenizer)

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        np.save(folder / "pids.npy", self.pids, allow_pickle=False)
        (folder / "tokenizer.json").write_text(json.dumps(self.tokenizer.to_dict()), "utf-8")
        if self.model is not None:
            self.model.save(str(folder), allow_pickle=False)

    @classmethod
    def load(cls, folder: Path, mmap: bool = False) -> "BM25Side":
        pids = np.load(folder / "pids.npy", allow_pickle=False)
        tokenizer = PersianTokenizer.from_dict(json.loads((folder / "tokenizer.json").read_text("utf-8")))
        model = bm25s.BM25.load(str(folder), mmap=mmap, allow_pickle=False) if len(pids) else None
        return cls(model, pids, tokenizer)

    def search(self, query: str, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, pids) for one query; only passages sharing a term are returned."""
        return self.search_tokens(self.tokenizer(query), k)

    def search_tokens(self, tokens, k: int) -> tuple[np.ndarray, np.ndarray]:
        if self.model is None:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        tokens = [t for t in tokens if t in self.model.vocab_dict]
        if not tokens:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        return top_positive(self.model.get_scores(tokens), self.pids, k)
