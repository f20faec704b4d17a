"""The two small interfaces retrieval searches through: a dense store and a lexical side.

``DenseStore``: top-k (scores, pids) of query vectors (``faiss_store.FaissStore``).
``LexicalSide``: its tokenizer, and top-k (scores, pids) of a query's tokens
(``bm25_store.BM25Side``, ``tfidf_store.TfidfSide``). A new vector store or lexical
scorer is one class with these methods plus its loader in ``index.py``.
"""

from __future__ import annotations

from typing import Protocol, Sequence, runtime_checkable

import numpy as np

from .normalize import PersianTokenizer

Hits = tuple[np.ndarray, np.ndarray]  # (scores, pids), best first


@runtime_checkable
class DenseStore(Protocol):
    dim: int
    count: int

    def search(self, vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, pids) per row of ``vectors``; missing slots have pid -1."""
        ...


@runtime_checkable
class LexicalSide(Protocol):
    tokenizer: PersianTokenizer
    pids: np.ndarray

    def search_tokens(self, tokens: Sequence[str], k: int) -> Hits:
        """Top-k (scores, pids) of the passages sharing a term with ``tokens``."""
        ...
