"""What the composing generators share: plain character-4-gram vectors, and choosing sentences by
maximal marginal relevance within a sentence and word budget."""

from __future__ import annotations

from collections import Counter
from typing import Protocol, Sequence, TypeVar

from ..normalize import PersianTokenizer
from ..tfidf_store import cosine, tfidf_vector

_CHAR4 = PersianTokenizer(ngram=4)


def plain_char4(text: str) -> dict[str, float]:
    """``text`` as character 4-grams with equal weights (when no index IDF is at hand)."""
    return tfidf_vector(Counter(_CHAR4(text)), lambda _t: 1.0)


class Scored(Protocol):
    n: int
    position: int
    text: str
    vector: dict[str, float]
    score: float


C = TypeVar("C", bound=Scored)


def mmr_select(cands: Sequence[C], max_sentences: int, max_words: int, mmr_lambda: float,
               repeat: float) -> list[C]:
    """Best first by ``mmr_lambda * score - (1 - mmr_lambda) * closeness to what is chosen``; a sentence
    over the word budget or at ``repeat`` cosine or more from a chosen one is skipped."""
    chosen: list[C] = []
    words = 0
    pool = sorted(cands, key=lambda c: (-c.score, c.n, c.position))
    while pool and len(chosen) < max_sentences:
        def mmr(c: C) -> float:
            return mmr_lambda * c.score - (1 - mmr_lambda) * max((cosine(c.vector, s.vector) for s in chosen),
                                                                 default=0.0)

        best = max(pool, key=mmr)
        pool.remove(best)
        n_words = len(best.text.split())
        if chosen and words + n_words > max_words:
            continue
        if any(cosine(best.vector, s.vector) >= repeat for s in chosen):
            continue  # the same thing again
        chosen.append(best)
        words += n_words
    return chosen
