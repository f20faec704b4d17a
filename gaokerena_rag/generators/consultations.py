"""The consultations composer (default): what doctors advised in similar consultations, said as such.

The knowledge base holds past consultations, each a doctor's reply to *another* patient.
This composer never writes as if a reply were meant for the user:

* it opens with what the answer is: «در ۳ مشاوره‌ی مشابه، پزشکان چنین گفته‌اند:»;
* it quotes only sentences the sentence rules allow for this user (``sentence_rules.py``: no
  greetings, bylines, questions back, fragments, other patients' tests, numbers, drugs or
  doses, nothing that leans on a sentence left out);
* it prefers advice that recurs: a sentence scores by its closeness to the question
  (character-4-gram TF-IDF cosine), the closeness of its consultation's question to the
  user's (``ScoredPassage.applies``), and how many *other* consultations say something close
  to it (TF-IDF cosine >= ``agree``) — agreement across doctors is evidence that it is general;
* every source that says a chosen sentence is cited with it ([1][3]).

Sentences are chosen by maximal marginal relevance within a budget of 8 sentences and 220 words
(chosen on MF3QA dev 1-500 with ``benchmarks/keypoint_coverage.py --on calibration``: key-point
coverage 0.079 against 0.063 at 5 sentences and 130 words), most agreed first.
The only words not taken from a source are the opening line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Iterator, Sequence

from ..chunking import split_sentences
from ..citations import cite, strip_markers
from ..documents import ScoredPassage
from ..normalize import persian_count
from ..query import Query
from ..sentence_rules import SentenceRules
from ..tfidf_store import cosine
from .selection import mmr_select, plain_char4

FRAMING = "مشاوره‌ی مشابه، پزشک"  # the fixed part of the opening line
_LEADING_GREETING = re.compile(r"^(((با\s*)?(عرض\s*)?سلام|درود)(\s+و\s+(ادب|احترام))?(\s+(و\s+)?(وقت|روز|عصر|شب)\S*\s+(به\s*)?خیر)?|"
                               r"(وقت|روز|عصر|شب)(\s*(شما|تون|تان))?\s*(به\s*)?(خیر|بخیر))[\s،,.!]+")


ARTICLES = "منبع یافت‌شده"  # the fixed part of the opening line over sources that are not consultations


def opening(n: int, consultations: bool = True) -> str:
    count = persian_count(n)
    if not consultations:
        return f"بر پایه‌ی {count} {ARTICLES}:"
    if n == 1:
        return "در یک مشاوره‌ی مشابه، پزشک چنین گفته است:"
    return f"در {count} مشاوره‌ی مشابه، پزشکان چنین گفته‌اند:"


@dataclass
class Candidate:
    n: int
    position: int
    text: str
    vector: dict[str, float]
    score: float = 0.0
    also: list[int] = field(default_factory=list)  # other sources saying something close


class ConsultationComposer:
    name = "consultations"
    framing = (FRAMING, ARTICLES)

    def __init__(self, max_sentences: int = 8, max_words: int = 220, agree: float = 0.45, agree_weight: float = 0.1,
                 question_weight: float = 0.5, mmr_lambda: float = 0.7, max_sources: int = 8,
                 vectorize: Callable[[str], dict[str, float]] | None = None, rules: SentenceRules | None = None):
        self.max_sentences, self.max_words, self.max_sources = max_sentences, max_words, max_sources
        self.agree, self.agree_weight, self.question_weight = agree, agree_weight, question_weight
        self.mmr_lambda = mmr_lambda
        self.vectorize = vectorize or plain_char4
        self.rules = rules or SentenceRules()
        # the last choice ``cites`` made: (question, passage ids cited, [(passage id, sentence, agreeing ids)])
        self._planned: tuple | None = None

    def candidates(self, query: Query, sources: Sequence[ScoredPassage]) -> list[Candidate]:
        context = self.rules.context(query)
        out = []
        for src in sources[: self.max_sources]:
            for i, sentence in enumerate(split_sentences(src.answer_text)):
                text = _LEADING_GREETING.sub("", strip_markers(re.sub(r"\s+", " ", sentence)).strip())  # its [1][2]: not ours
                if self.rules.why_not(text, context) is None:
                    out.append(Candidate(src.n, i, text, self.vectorize(text)))
        q = self.vectorize(query.stripped)
        closeness = {s.n: (s.applies or {}).get("question") or 0.0 for s in sources}
        for c in out:
            c.also = sorted({o.n for o in out if o.n != c.n and cosine(c.vector, o.vector) >= self.agree})
            c.score = (cosine(q, c.vector) + self.question_weight * closeness.get(c.n, 0.0)
                       + self.agree_weight * len(c.also))
        return out

    def select(self, cands: list[Candidate]) -> list[Candidate]:
        # the same advice again, from another doctor, is cited already: it is not quoted twice
        return mmr_select(cands, self.max_sentences, self.max_words, self.mmr_lambda, repeat=self.agree)

    def cites(self, query: Query, sources: Sequence[ScoredPassage]) -> set[int]:
        """The sources the answer will cite (``base.sources_cited``): the same choice ``generate`` makes. Leaving
        the others out changes nothing chosen: none of their sentences is quoted or agrees with one that is. The
        choice is kept, by passage id, for ``generate`` over those sources renumbered (not made twice)."""
        chosen = self.select(self.candidates(query, sources))
        pid = {s.n: s.passage_id for s in sources}
        cited = {n for c in chosen for n in [c.n, *c.also]}
        self._planned = (query.raw, frozenset(pid[n] for n in cited),
                         [(pid[c.n], c.text, [pid[o] for o in c.also]) for c in chosen])
        return cited

    def _chosen(self, query: Query, sources: Sequence[ScoredPassage]) -> list[Candidate]:
        planned, number = self._planned, {s.passage_id: s.n for s in sources}
        if planned and planned[0] == query.raw and planned[1] == number.keys():
            return [Candidate(number[p], 0, text, {}, also=[number[o] for o in also]) for p, text, also in planned[2]]
        return self.select(self.candidates(query, sources))

    def generate(self, query: Query, sources: Sequence[ScoredPassage],
                 history: Sequence[dict] | None = None) -> Iterator[str]:
        chosen = self._chosen(query, sources)
        if not chosen:
            return
        cited = {n for c in chosen for n in [c.n, *c.also]}
        yield opening(len(cited), all(s.consultation for s in sources if s.n in cited)) + "\n"
        for c in chosen:
            yield cite(c.text, sorted({c.n, *c.also})) + "\n"


def build(options: dict, retriever=None) -> ConsultationComposer:
    """The registered factory: sentences in the retriever's character-4-gram space, rules with its drug lexicon
    and look-alike conditions."""
    options = dict(options)
    names = options.pop("rules", None)  # the sentence rules in force, by name (default: all)
    extra = {"rules": SentenceRules(getattr(retriever, "lexicon", None), tuple(names) if names is not None else None,
                                    getattr(retriever, "lookalikes", None))}
    if retriever is not None and retriever.lexical_vectorizer("char4"):
        extra["vectorize"] = retriever.lexical_vectorizer("char4")
    return ConsultationComposer(**extra, **options)
