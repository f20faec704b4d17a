"""The extractive generator: an answer composed only of sentences the sources wrote.

Candidate sentences come from the doctor's part of each source (a consultation's
question is never quoted as an answer). Each is scored against the question with
the retriever's two signals: character-4-gram TF-IDF cosine between the question
and the sentence (lexical), plus the dense cosine of the sentence's source with the
question, relative to the best source's, and a prior from the source's rank.
(Embedding each candidate sentence as well cost 100+ ms per answer on two cores and
scored lower on MF3QA dev, so the dense signal is taken at the passage, where the
retriever already computed it.) Sentences are then chosen by maximal marginal
relevance (no near-repeats) within a word budget. Every
sentence carries the number of the source it came from; the only words not taken
from a source are the fixed Persian framing phrases. A sentence that speaks to an
assistant (a planted instruction) is never quoted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Iterator, Sequence

from ..chunking import split_sentences
from ..citations import CONTENT_WORDS, cite, strip_markers
from ..documents import ScoredPassage
from ..injection import looks_like_instruction
from ..normalize import strip_courtesies
from ..query import Query
from ..tfidf_store import cosine
from .selection import mmr_select, plain_char4

FRAMING = "بر پایه‌ی منابع یافت‌شده:"
# a doctor's sign-off or thanks is not an answer («با تشکر دکتر …», «موفق باشید»)
_SIGN_OFF = re.compile(r"(با\s*تشکر|با\s*آرزوی|موفق\s*باشید|سلامت\s*باشید|^دکتر\s|متخصص\s+\S+\s+و\s+\S+\s*$)")


@dataclass
class Candidate:
    n: int
    position: int
    text: str
    vector: dict[str, float]  # normalized TF-IDF over character 4-grams
    score: float = 0.0


class ExtractiveGenerator:
    """Composes an answer from source sentences; CPU only, no model weights."""

    name = "extractive"
    framing = (FRAMING,)

    def __init__(self, max_sentences: int = 4, max_words: int = 120, min_words: int = 4, mmr_lambda: float = 0.7,
                 rank_prior: float = 0.3, dense_weight: float = 1.0, max_sources: int = 5,
                 vectorize: Callable[[str], dict[str, float]] | None = None):
        """``rank_prior`` and ``dense_weight`` were chosen on MF3QA dev questions 1–400 (the
        calibration half of ``benchmarks/mf3qa_answers.py``). ``vectorize``: text to normalized
        TF-IDF over character 4-grams, in the index's space (``HybridRetriever.lexical_vectorizer``);
        without it, 4-grams with equal weights."""
        self.max_sentences = max_sentences
        self.max_words = max_words
        self.min_words = min_words
        self.mmr_lambda = mmr_lambda
        self.rank_prior = rank_prior
        self.max_sources = max_sources
        self.vectorize = vectorize or plain_char4
        self.dense_weight = dense_weight

    def candidates(self, query: Query, sources: Sequence[ScoredPassage]) -> list[Candidate]:
        q = self.vectorize(query.stripped)
        out = []
        sources = sources[: self.max_sources]
        best_dense = max((s.scores.get("dense", 0.0) for s in sources), default=0.0)
        for src in sources:
            prior = self.rank_prior / src.n + self.dense_weight * (src.scores.get("dense", 0.0) - best_dense)
            for i, sentence in enumerate(split_sentences(src.answer_text)):
                text = strip_markers(re.sub(r"\s+", " ", sentence))  # its own [1][2] are not ours
                if len(strip_courtesies(text).split()) < self.min_words or not CONTENT_WORDS(text):
                    continue  # fragments and greetings («سلام، وقت شما هم بخیر») are not answers
                if text.endswith(("؟", "?")) or _SIGN_OFF.search(text):
                    continue  # questions back to the patient and sign-offs are not answers
                if looks_like_instruction(text):
                    continue  # text addressed to an assistant is data, never part of an answer
                cand = Candidate(src.n, i, text, self.vectorize(text))
                cand.score = cosine(q, cand.vector) + prior
                out.append(cand)
        return out

    def select(self, cands: list[Candidate]) -> list[Candidate]:
        return mmr_select(cands, self.max_sentences, self.max_words, self.mmr_lambda, repeat=0.8)

    def generate(self, query: Query, sources: Sequence[ScoredPassage],
                 history: Sequence[dict] | None = None) -> Iterator[str]:
        chosen = self.select(self.candidates(query, sources))
        if not chosen:
            return
        # read in source order, then in the order each source wrote them
        chosen.sort(key=lambda c: (c.n, c.position))
        yield FRAMING + "\n"
        for cand in chosen:
            yield cite(cand.text, [cand.n]) + "\n"



def build(options: dict, retriever=None) -> ExtractiveGenerator:
    """The registered factory: sentences scored in the retriever's character-4-gram TF-IDF space."""
    vectorize = retriever.lexical_vectorizer("char4") if retriever is not None else None
    return ExtractiveGenerator(**({"vectorize": vectorize} if vectorize else {}), **options)
