"""Gates: the stage between retrieval and writing, which keeps, drops or reorders sources, or abstains.

A gate is a small object with a ``name`` and ``screen(query, sources) -> Screen``: the
sources it keeps (in order), the ones it withholds (with why), and an abstention reason
when nothing fit to answer from is left. The assistant runs the gates its config names
(``AssistantConfig.gates``) in order and stops at the first abstention. A reranker is a
gate that reorders. A new gate is one class plus a line in ``GATES`` (or ``register_gate``).

Built in:
* ``instructions``: withholds sources that speak to the assistant (a planted instruction),
  then keeps the first ``k`` (retrieval asks for ``k + spare_sources``).
* ``content``: abstains, asking what the matter is, when the question only says who («پسر ۳ ماهه»).
* ``domain``: abstains when the question is not about health (``domain_gate.py``: a probe over its embedding).
* ``evidence``: abstains when the best source's raw score on the calibrated signal is below
  the calibrated threshold (``AssistantConfig.min_evidence``).
* ``vocabulary``: abstains when the question's words are mostly words the sources do not use.
* ``applicability``: keeps the consultations that apply to the user (``applicability_gate.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Callable, Protocol, Sequence

from .documents import ScoredPassage
from .injection import planted_instruction
from .query import Query
from .sentence_rules import PERSON

if TYPE_CHECKING:  # pragma: no cover
    from .config import AssistantConfig
    from .retrieval import HybridRetriever


@dataclass
class Screen:
    """What a gate decided."""

    sources: list[ScoredPassage]
    withheld: list[dict[str, str]] = field(default_factory=list)  # {doc_id, passage_id, gate, found}
    abstain: str | None = None  # why nothing is answered, when so (for logs)
    say: list[str] = field(default_factory=list)  # what the user is told plainly (Persian), e.g. a term no source has


class Gate(Protocol):
    name: str

    def screen(self, query: Query, sources: Sequence[ScoredPassage]) -> Screen: ...


def evidence(sources: Sequence[ScoredPassage], signal: str) -> float:
    """The best raw score on ``signal`` among ``sources`` (what abstention compares)."""
    return max((s.scores.get(signal, 0.0) for s in sources), default=0.0)


class InstructionGate:
    """Sources that give the assistant orders are data nobody should act on: withheld."""

    name = "instructions"

    def __init__(self, k: int):
        self.k = k
        # a source reads the same every time it comes back: judged once (folding a text is most of the cost)
        self.planted = lru_cache(maxsize=4096)(planted_instruction)

    def screen(self, query: Query, sources: Sequence[ScoredPassage]) -> Screen:
        kept, withheld = [], []
        for s in sources:
            if len(kept) == self.k:
                break  # the rest would not be used: not judged
            found = self.planted(f"{s.title}\n{s.text}")
            if found:
                withheld.append({"doc_id": s.doc_id, "passage_id": s.passage_id, "gate": self.name, "found": found})
            else:
                kept.append(s)
        return Screen(kept, withheld)


# who a question is about, not what: an age or duration, a number, a person («پسر»، «همسرم»، «خانم ۳۵ ساله»)
_WHO = re.compile(r"^(\d+|(ساله|سالمه|سالشه|سالگی|سال|ماهه|ماهمه|ماهشه|ماهگی|ماه|روزه|روزشه|روزگی|هفته|هفتگی|"
                  r"خانم|اقا|اقای|مرد|زن|دکتر|پزشک)\w{0,3})$")


class ContentGate:
    """Abstains, asking what the matter is, when every word of the question only says who it is about
    (a person, an age, a number): «پسر ۳ ماهه» has nothing to answer, and sources about three-month-old
    boys would be other patients' problems."""

    name = "content"
    SAY = ("پرسش شما نمی‌گوید چه مشکلی هست؛ لطفاً علامت‌ها یا پرسش خود را هم بنویسید "
           "(مثلاً «پسر ۳ ماهه‌ام از دیروز تب دارد»).")

    def __init__(self, words):
        self.words = words

    def only_who(self, query: Query) -> bool:
        tokens = self.words.tokenizer(query.stripped)
        return bool(tokens) and all(_WHO.match(t) or any(rx.fullmatch(t) for rx in PERSON.values()) for t in tokens)

    def screen(self, query: Query, sources: Sequence[ScoredPassage]) -> Screen:
        if self.only_who(query) and not query.drugs:
            return Screen(list(sources), abstain="the question says who, not what", say=[self.SAY])
        return Screen(list(sources))


class EvidenceGate:
    """Abstains when no source scores ``min_evidence`` on ``signal`` (the question is off the sources),
    unless the question names a medicine (brand names are words the embedder may not know)."""

    name = "evidence"

    def __init__(self, signal: str, min_evidence: float):
        self.signal, self.min_evidence = signal, min_evidence

    def screen(self, query: Query, sources: Sequence[ScoredPassage]) -> Screen:
        best = evidence(sources, self.signal)
        if best < self.min_evidence and not query.drugs:  # a question naming a medicine is medical
            return Screen(list(sources), abstain=f"best {self.signal} score {best:.3f} < {self.min_evidence}")
        return Screen(list(sources))


class VocabularyGate:
    """Abstains when too few of the question's words are words the sources use: the share of its
    word tokens found in at least ``known_df`` passages is below ``min_share`` (a question about kebab
    shops or car tyres uses words a medical corpus rarely has), unless it names a medicine."""

    name = "vocabulary"

    def __init__(self, words, min_share: float, known_df: int = 100):
        self.words, self.min_share, self.known_df = words, min_share, known_df

    def share(self, query: Query) -> float:
        tokens = self.words.tokenizer(query.stripped)
        return sum(self.words.document_frequency(t) >= self.known_df for t in tokens) / len(tokens) if tokens else 0.0

    def screen(self, query: Query, sources: Sequence[ScoredPassage]) -> Screen:
        share = self.share(query)
        if share < self.min_share and not query.drugs:
            return Screen(list(sources), abstain=f"known words {share:.2f} < {self.min_share}")
        return Screen(list(sources))


def _vocabulary(config: AssistantConfig, retriever: HybridRetriever) -> Gate:
    calibrated = (retriever.calibration.abstention or {}) if retriever.calibration else {}
    share = config.min_known_words if config.min_known_words is not None else calibrated.get("min_known_words", 0.0)
    return VocabularyGate(retriever.files.lexical["words"], float(share), int(calibrated.get("known_df", 100)))


GateFactory = Callable[["AssistantConfig", "HybridRetriever"], Gate]


def _applicability(config: AssistantConfig, retriever: HybridRetriever) -> Gate:
    from .applicability_gate import ApplicabilityGate

    return ApplicabilityGate.for_retriever(retriever, config.applicability)


def _domain(config: AssistantConfig, retriever: HybridRetriever) -> Gate:
    from .domain_gate import DomainGate

    return DomainGate.for_retriever(retriever, None if config.domain_classifier == "default" else config.domain_classifier)


GATES: dict[str, GateFactory] = {
    "instructions": lambda config, retriever: InstructionGate(config.retrieval.k),
    "content": lambda config, retriever: ContentGate(retriever.files.lexical["words"]),
    "domain": _domain,
    "evidence": lambda config, retriever: EvidenceGate(config.evidence_signal, config.min_evidence),
    "vocabulary": _vocabulary,
    "applicability": _applicability,
}


def register_gate(name: str, factory: GateFactory) -> None:
    """Make ``name`` usable in ``AssistantConfig.gates``: ``factory(config, retriever)`` builds the gate."""
    GATES[name] = factory


def build_gates(names: Sequence[str], config: AssistantConfig, retriever: HybridRetriever) -> list[Gate]:
    unknown = [n for n in names if n not in GATES]
    if unknown:
        raise ValueError(f"unknown gate(s) {', '.join(map(repr, unknown))}; expected some of {', '.join(GATES)}")
    return [GATES[n](config, retriever) for n in names]
