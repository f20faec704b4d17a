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
from .normalize import persian_count
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
    guidance: bool = False  # the body is emergency guidance (``guidance.py``), not composed from sources
    abstain_reason: str | None = None
    emergency: str | None = None
    emergency_categories: list[str] = field(default_factory=list)
    # what the user is told plainly before the body (a term no source has), written by a gate
    caveats: list[str] = field(default_factory=list)
    notice: str = PHYSICIAN_NOTICE
    removed_citations: int = 0
    # claims that failed the check as they were written (``verification.py``): dropped, marked or kept by policy
    unverified: list[SentenceCheck] = field(default_factory=list)
    # {policy, claims, passed, failed, fallback}: what the check of the written answer did
    verification: dict[str, Any] = field(default_factory=dict)
    # retrieved sources a gate left out, with why ({doc_id, passage_id, gate, found})
    withheld: list[dict[str, str]] = field(default_factory=list)
    # seconds by step: embed_s (the one query embedding), safety_s, retrieve_s, gate_s, generate_s, check_s, total_s
    timings: dict[str, float] = field(default_factory=dict)
    model: str = ""
    index: str = ""

    @property
    def text(self) -> str:
        """The emergency notice, the caveats, the body and the physician notice, as one text."""
        return "\n\n".join(x for x in (self.emergency, *self.caveats, self.body, self.notice) if x)

    @property
    def cited_sources(self) -> list[ScoredPassage]:
        numbers = {n for c in self.citations if c.claim for n in c.cited}
        return [s for s in self.sources if s.n in numbers]

    @property
    def summary(self) -> str:
        """What a clinician can read about where the answer comes from (Persian), in place of a score
        that holds by construction: how many consultations it draws on, and the closest question."""
        if self.guidance:
            return "راهنمای اورژانس (متن ثابت و بازبینی‌شده)؛ از منابع پاسخی ساخته نشد."
        if self.abstained:
            return "پاسخی ساخته نشد: منابع یافت‌شده به این پرسش نمی‌پردازند."
        used = self.cited_sources
        consultations = [s for s in used if s.consultation]
        if not consultations:
            return (f"از {persian_count(len(used))} منبع یافت‌شده" if used else "بی‌منبع") + self._unverified_note() + "."
        closest = max(consultations, key=lambda s: (s.applies or {}).get("question") or 0.0)
        words = closest.consultation[0].split()
        asked = " ".join(words[:14]) + ("…" if len(words) > 14 else "")
        out = f"از {persian_count(len(consultations))} مشاوره‌ی مشابه؛ نزدیک‌ترین پرسش: «{asked}»"
        off = sum(c.applicable is False for c in self.citations if c.claim)
        # a generator may write what belongs to another patient's case: the check says how much
        out += f"؛ {persian_count(off)} جمله شاید به بیمار دیگری مربوط باشد" if off else ""
        return out + self._unverified_note()

    def _unverified_note(self) -> str:
        """What the check left out of (or marked in) the written answer, and why, in Persian."""
        policy = self.verification.get("policy")
        if not self.unverified or policy not in ("drop", "mark"):
            return ""
        unsupported = sum(not c.supported for c in self.unverified)
        other = len(self.unverified) - unsupported
        parts = ([f"{persian_count(unsupported)} جمله‌ی نوشته‌شده که منابع تأییدش نکردند"] if unsupported else []) + \
                ([f"{persian_count(other)} جمله‌ی مربوط به بیمار دیگر"] if other else [])
        return "؛ " + " و ".join(parts) + (" حذف شد" if policy == "drop" else " علامت خورد")

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "text": self.text, "summary": self.summary}

