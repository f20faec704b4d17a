"""Does a retrieved consultation apply to the person who asked?

A source is a past consultation: another patient's question and one doctor's reply.
It applies when its patient asked about the same thing: ``question`` is the
character-4-gram TF-IDF cosine between the user's question and that patient's question
(courtesies removed and medicines written as their generics on both sides; on MF3QA,
question-to-question closeness is the strongest signal), and the user's **key terms** are in it.

Key terms are the words of the user's question that are specific (in at most
``max_df`` passages of the index, so «درد» is not one and «خارجی» is) yet real words
of the corpus (in at least ``min_df``, so a typo is not one) and not verbs («میشه»), plus
every medicine the question names (``drugs.DrugLexicon``, under any of its names). ``assess`` scores each
source; the ``applicability`` gate (``applicability_gate.py``) keeps the ones that apply. A
passage that is not a consultation (an article) has no patient's question: only its key
terms are judged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Sequence

from .documents import ScoredPassage
from .drugs import DrugLexicon
from .normalize import strip_courtesies
from .query import Query
from .tfidf_store import cosine


# a verb («میشه»، «نمیتونم»): what the patient does, not what the question is about
_VERB_LIKE = re.compile(r"^(ن?می|ب(?=\w{2,}(م|ی|ه|یم|ید|ن|ند|ین)$))")


@dataclass(frozen=True)
class KeyTerm:
    text: str  # a word token of the index's word side, or a medicine's generic name
    kind: str  # "word" or "drug"
    df: int  # passages of the index holding it (drugs: the generic's own spelling)


@dataclass(frozen=True)
class Applies:
    """How a source relates to the user's question (kept on ``ScoredPassage.applies``)."""

    question: float | None  # closeness of its patient's question to the user's (None: not a consultation)
    terms: tuple[str, ...]  # the user's key terms it holds
    missing: tuple[str, ...]  # the user's key terms it lacks
    applies: bool = False

    def to_dict(self) -> dict:
        return {"question": None if self.question is None else round(self.question, 4), "terms": list(self.terms),
                "missing": list(self.missing), "applies": self.applies}


class Applicability:
    """Key terms of a question, and how each source matches them and the question."""

    def __init__(self, words, vectorize: Callable[[str], dict[str, float]], lexicon: DrugLexicon | None,
                 max_df: int = 400, min_df: int = 3):
        """``words``: the index's word side (its tokenizer and document frequencies); ``vectorize``:
        text to TF-IDF over character 4-grams (``HybridRetriever.lexical_vectorizer``)."""
        self.words, self.vectorize, self.lexicon = words, vectorize, lexicon
        self.max_df, self.min_df = max_df, min_df
        # a source reads the same every time it comes back: its terms are found once
        self.terms_in = lru_cache(maxsize=4096)(self._terms_in)
        self.asked = lru_cache(maxsize=4096)(self._asked)

    def key_terms(self, query: Query) -> list[KeyTerm]:
        out: list[KeyTerm] = []
        seen: set[str] = set()
        for generic in query.drugs:
            out.append(KeyTerm(generic, "drug", 0))
            seen.add(generic)
        drug_words = {t for name in query.drugs.values() for t in self.words.tokenizer(name)}
        for token in self.words.tokenizer(query.stripped):
            if token in seen or token in drug_words or token.isdigit() or _VERB_LIKE.match(token):
                continue
            seen.add(token)
            df = self.words.document_frequency(token)
            if self.min_df <= df <= self.max_df:
                out.append(KeyTerm(token, "word", df))
        return out

    def _canonical(self, text: str) -> str:
        """Medicines under their generic names, so «لکساپرو» and «اس سیتالوپرام» read alike."""
        return self.lexicon.canonical(text) if self.lexicon is not None else text

    def _asked(self, question: str) -> dict[str, float]:
        """A consultation's patient question as the closeness compares it (``asked``, remembered; read only)."""
        return self.vectorize(self._canonical(strip_courtesies(question)))

    def _terms_in(self, text: str) -> frozenset[str]:
        """The word tokens and medicines (generics) a text holds (``terms_in``, remembered)."""
        found = set(self.words.tokenizer(text))
        if self.lexicon is not None:
            found |= set(self.lexicon.find(text))
        return frozenset(found)

    def assess(self, query: Query, sources: Sequence[ScoredPassage],
               terms: Sequence[KeyTerm] | None = None) -> list[Applies]:
        terms = self.key_terms(query) if terms is None else terms
        q = self.vectorize(self._canonical(query.stripped))
        out = []
        for s in sources:
            parts = s.consultation
            held = self.terms_in(s.text)
            have = tuple(t.text for t in terms if t.text in held)
            closeness = cosine(q, self.asked(parts[0])) if parts else None
            out.append(Applies(question=closeness, terms=have,
                               missing=tuple(t.text for t in terms if t.text not in held)))
        return out
