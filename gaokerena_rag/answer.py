"""``Answer``: what ``GaokerenaAssistant.ask`` returns, its parts kept apart.

``body`` is what was composed or generated (checked sentence by sentence), ``emergency``
the notice shown before it, ``notice`` the physician notice after it; ``text`` joins
them for a terminal. Pages read the parts, never re-split the text.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from .citations import SentenceCheck
from .documents import ScoredPassage
from .safety import PHYSICIAN_NOTICE


@dataclass
class Answer:
    """A Persian answer, its numbered sources and how well each sentence is grounded."""

    question: str
    body: str
    sources: list[ScoredPassage]
    citations: list[SentenceCheck]
    grounding: float
    abstained: bool = False
    abstain_reason: str | None = None
    emergency: str | None = None
    emergency_categories: list[str] = field(default_factory=list)
    notice: str = PHYSICIAN_NOTICE
    removed_citations: int = 0
    # retrieved sources a gate left out, with why ({doc_id, passage_id, gate, found})
    withheld: list[dict[str, str]] = field(default_factory=list)
    # seconds by step: embed_s (the one query embedding), safety_s, retrieve_s, gate_s, generate_s, check_s, total_s
    timings: dict[str, float] = field(default_factory=dict)
    model: str = ""
    index: str = ""

    @property
    def text(self) -> str:
        """The emergency notice, the body and the physician notice, as one text."""
        return "\n\n".join(x for x in (self.emergency, self.body, self.notice) if x)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "text": self.text}
