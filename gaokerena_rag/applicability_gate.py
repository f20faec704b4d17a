"""The ``applicability`` gate: answer only from consultations that apply to the person who asked.

For each retrieved consultation (``applicability.Applicability``): how close its patient's
question is to the user's, and which of the user's key terms it holds. Then:

1. a medicine the user names that no source names: abstain, and say so plainly
   («منابع یافت‌شده درباره‌ی «…» چیزی نمی‌گویند») — advice about other drugs is not an answer;
2. a condition a short question names («بیماری فابری»، «سندرم گیلن باره») by a specific word (in at most 60
   passages) that no source holds: abstain, and say so — the sources are about something else;
3. consultations whose question is less close than ``min_question`` (calibrated) are left out;
   none left: abstain, saying the sources do not cover the question;
4. a consultation whose patient asked about a look-alike of what the user asked (``lookalikes.py``:
   hyperthyroidism for a question about an underactive thyroid) and not about it is left out; none
   left: abstain, saying the sources are about the look-alike, not what was asked;
5. a consultation about a baby, a child, a pregnancy, a nursing mother or a fetus (``patients.py``) is left
   out when the user names no one of its kinds: advice made for them is not for an adult asking about
   themself; none left: abstain, saying whom the sources are about;
6. of the rest, those holding the most key terms are kept (one fewer is allowed when there are
   two or more), so a question about otitis *externa* is answered from the consultations
   about the outer ear when there are any;
7. a specific key word (in at most 60 passages) of a short question (at most 6 key terms) that no
   source holds is said plainly, and the answer speaks to the rest.

Every source keeps its judgement on ``ScoredPassage.applies``; those left out are listed in
``Answer.withheld`` with the gate's reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Sequence

from .applicability import Applicability, KeyTerm
from .documents import ScoredPassage
from .gates import Screen
from .lookalikes import LookAlikes
from .patients import named_kinds, patient_kinds
from .query import Query


@dataclass(frozen=True)
class ApplicabilitySettings:
    # None: the value calibrated for the embedder (calibration.py), else FALLBACK_MIN_QUESTION
    min_question: float | None = None
    max_df: int = 400  # a word in more passages than this is too common to be a key term
    min_df: int = 3  # … in fewer, it is a typo or a name, not a term the corpus uses
    term_slack: int = 1  # with 2+ key terms matched, sources holding one fewer are kept too


FALLBACK_MIN_QUESTION = 0.15
# a condition named as one, and the two words after: «سندرم گیلن باره»، «بیماری فابری»
_NAMED_CONDITION = re.compile(r"(?<!\w)(سندرم|سندروم|بیماری)\s+(\S+(?:\s+\S+)?)")
KIND_SHOWN = {"child": "کودک", "pregnancy": "بارداری", "nursing": "مادر شیرده", "fetus": "جنین"}


def _quoted(words: Sequence[str]) -> str:
    return "، ".join(f"«{w}»" for w in words)


class ApplicabilityGate:
    name = "applicability"

    def __init__(self, judge: Applicability, min_question: float, term_slack: int = 1, say_max_df: int = 60,
                 say_max_terms: int = 6, lookalikes: LookAlikes | None = None):
        self.judge, self.min_question, self.term_slack = judge, min_question, term_slack
        self.lookalikes = lookalikes
        self.say_max_df, self.say_max_terms = say_max_df, say_max_terms

    @classmethod
    def for_retriever(cls, retriever, settings: ApplicabilitySettings) -> "ApplicabilityGate":
        words, vectorize = retriever.files.lexical.get("words"), retriever.lexical_vectorizer("char4")
        if words is None or vectorize is None or not hasattr(words, "document_frequency"):
            raise ValueError(f"{retriever.files.path}: the applicability gate needs the index's 'words' (BM25) "
                             "and 'char4' (TF-IDF) sides")
        calibrated = ((retriever.calibration.applicability or {}) if retriever.calibration else {}).get("min_question")
        min_question = settings.min_question if settings.min_question is not None else (
            float(calibrated) if calibrated is not None else FALLBACK_MIN_QUESTION)
        return cls(Applicability(words, vectorize, retriever.lexicon, settings.max_df, settings.min_df),
                   min_question, settings.term_slack, lookalikes=retriever.lookalikes)

    def screen(self, query: Query, sources: Sequence[ScoredPassage]) -> Screen:
        terms = self.judge.key_terms(query)
        found = self.judge.assess(query, sources, terms)
        held = {t for a in found for t in a.terms}
        unheld = [t for t in terms if t.text not in held]
        drugs = [query.drugs.get(t.text, t.text) for t in unheld if t.kind == "drug"]
        if drugs:
            return Screen(self._judged(sources, found, set()), abstain=f"no source names {', '.join(drugs)}",
                          say=[f"منابع یافت‌شده درباره‌ی {_quoted(drugs)} چیزی نمی‌گویند."])
        condition = self._unknown_condition(query, sources, terms)
        if condition:
            return Screen(self._judged(sources, found, set()), abstain=f"no source names the condition {condition}",
                          say=[f"منابع یافت‌شده درباره‌ی «{condition}» چیزی نمی‌گویند."])
        close = [i for i, a in enumerate(found) if a.question is None or a.question >= self.min_question]
        if not close:
            best = max((a.question or 0.0 for a in found), default=0.0)
            return Screen(self._judged(sources, found, set()),
                          abstain=f"no consultation close to the question (best {best:.3f} < {self.min_question})",
                          say=["در منابع، مشاوره‌ای با پرسشی نزدیک به پرسش شما پیدا نشد."])
        alike = self._look_alikes(query, sources)
        if all(i in alike for i in close):
            others = list(dict.fromkeys(c for i in close for c in alike[i]))
            said = (f"منابع یافت‌شده درباره‌ی {_quoted(self.lookalikes.shown(others))} است، نه "
                    f"{_quoted(self.lookalikes.shown(query.conditions))}؛ از آن‌ها پاسخی برای شما ساخته نشد.")
            return Screen(self._judged(sources, found, set()),
                          abstain=f"every close consultation is about {', '.join(others)}", say=[said])
        close = [i for i in close if i not in alike]
        other = self._other_people(query, sources)
        if all(i in other for i in close):
            kinds = list(dict.fromkeys(k for i in close for k in other[i]))
            said = (f"مشاوره‌های یافت‌شده درباره‌ی {' یا '.join(KIND_SHOWN[k] for k in kinds)} است و پرسش شما از چنین "
                    "کسی نمی‌گوید؛ از آن‌ها پاسخی برای شما ساخته نشد. اگر پرسش درباره‌ی اوست، این را بنویسید.")
            return Screen(self._judged(sources, found, set()),
                          abstain=f"every close consultation is about another person ({', '.join(kinds)})", say=[said])
        close = [i for i in close if i not in other]
        most = max(len(found[i].terms) for i in close)
        floor = most - (self.term_slack if most >= 2 else 0)
        keep = {i for i in close if len(found[i].terms) >= floor}
        judged = self._judged(sources, found, keep)
        kept = [s for i, s in enumerate(judged) if i in keep]
        withheld = [{"doc_id": s.doc_id, "passage_id": s.passage_id, "gate": self.name,
                     "found": (f"about {', '.join(alike[i])}" if i in alike else
                               f"about another person ({', '.join(other[i])})" if i in other else
                               f"question {found[i].question:.2f}" if i not in close else
                               f"lacks {', '.join(found[i].missing)}")} for i, s in enumerate(judged) if i not in keep]
        say = []
        # a specific word of a short question that no source holds is said plainly; in a long story most
        # words are the asker's circumstances, and listing them would bury the answer
        rare = sorted((t for t in unheld if t.kind == "word" and t.df <= self.say_max_df), key=lambda t: t.df)
        words = [self._shown(t, query) for t in rare[:2]] if len(terms) <= self.say_max_terms else []
        if words:
            say.append(f"در منابع یافت‌شده از {_quoted(words)} سخنی نیست؛ آنچه می‌آید به بقیه‌ی پرسش شما مربوط است.")
        return Screen(kept, withheld, say=say)

    def _unknown_condition(self, query: Query, sources: Sequence[ScoredPassage], terms: Sequence[KeyTerm]) -> str | None:
        """The condition a short question names by words no source holds («سندرم گیلن باره»), else None."""
        named = list(_NAMED_CONDITION.finditer(query.normalized))
        if not named or len(terms) > self.say_max_terms:
            return None  # in a long story a named condition is often the asker's past, not the question
        held = set().union(*(self.judge.terms_in(s.text) for s in sources))
        words = self.judge.words

        def unknown(word: str) -> bool:
            tokens = words.tokenizer(word)
            return bool(tokens) and all(t not in held and words.document_frequency(t) <= self.say_max_df for t in tokens)

        for m in named:
            name = m.group(2).split()
            if unknown(name[0]):
                shown = [name[0]] + ([name[1]] if len(name) > 1 and unknown(name[1]) else [])
                return f"{m.group(1)} {' '.join(shown)}"
        return None

    def _look_alikes(self, query: Query, sources: Sequence[ScoredPassage]) -> dict[int, list[str]]:
        """The consultations whose patient asked about a look-alike of the user's condition, not about it:
        index -> those look-alikes."""
        if self.lookalikes is None or not query.conditions:
            return {}
        out = {}
        for i, s in enumerate(sources):
            asked = s.consultation[0] if s.consultation else ""
            named = self.lookalikes.find(asked, asserted=True)
            others = self.lookalikes.look_alikes(named, query.conditions)
            if others and not named.keys() & query.conditions.keys():
                out[i] = others
        return out

    @staticmethod
    def _other_people(query: Query, sources: Sequence[ScoredPassage]) -> dict[int, list[str]]:
        """The consultations about a child, a pregnancy … when the user names none of their kinds: index -> kinds.
        (A pregnant woman's consultation that speaks of her baby is still one about a pregnancy.)"""
        named = named_kinds(query.raw)
        out = {}
        for i, s in enumerate(sources):
            kinds = patient_kinds(s.consultation[0]) if s.consultation else frozenset()
            if kinds and not kinds & named:
                out[i] = sorted(kinds)
        return out

    @staticmethod
    def _judged(sources, found, keep) -> list[ScoredPassage]:
        return [replace(s, applies={**a.to_dict(), "applies": i in keep}) for i, (s, a) in enumerate(zip(sources, found))]

    def _shown(self, term: KeyTerm, query: Query) -> str:
        """The user's own word for a key term (the index holds it without suffixes)."""
        for word in query.stripped.split():
            if term.text in self.judge.words.tokenizer(word):
                return word.strip("؟?.,،!")
        return term.text
