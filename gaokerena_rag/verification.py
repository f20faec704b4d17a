"""Verified generation: every sentence a generator writes is checked as it streams, before a reader sees it.

``Verifier`` takes the generator's text in pieces, cuts it into the checker's own sentences
(``citations.claim_sentences``: a piece that holds only ``[n]`` belongs to the sentence
before it, so a sentence is released only when the one after it has begun), checks each
with the assistant's checker (supported by a source it cites, applies to the person who
asked) and applies the policy:

* ``drop`` (the default): a claim that fails — unsupported, uncited, or another patient's
  case — is not shown; it is kept in ``failed`` with why;
* ``mark``: it is shown with ``MARK`` after it;
* ``keep``: everything is shown (the check is still reported in the answer).

Framing phrases and notices (``claim=False``) are always shown. ``supported`` says whether
any claim passed: with none, the assistant falls back to its extractive answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterator

from .citations import SentenceCheck, claim_sentences, drop_invalid

POLICIES = ("drop", "mark", "keep")
MARK = " ⟨منابع این جمله را تأیید نمی‌کنند⟩"
FALLBACK_NOTE = ("جمله‌های مدل زبانی با منابع تأیید نشدند؛ به جای آن‌ها، آنچه خود منابع "
                 "در این باره می‌گویند:")
NOT_COVERED_NOTE = "مدل زبانی نوشت که منابع پاسخ این پرسش را ندارند؛ آنچه خود منابع در این باره می‌گویند:"


def fallback_note(claims: int) -> str:
    """The line above the extractive answer: the model's sentences failed, or it wrote none (only notices)."""
    return FALLBACK_NOTE if claims else NOT_COVERED_NOTE


def fails(item: SentenceCheck) -> bool:
    """A claim that no cited source supports, that cites nothing, or that does not apply to the asker."""
    return item.claim and (not item.supported or item.applicable is False)


@dataclass
class Verifier:
    """Checks streamed text sentence by sentence; ``check(sentence)`` gives its ``SentenceCheck``s."""

    check: Callable[[str], list[SentenceCheck]]
    policy: str = "drop"
    n_sources: int = 0  # citations of other numbers are removed from what is shown
    shown: list[str] = field(default_factory=list)  # the text released, piece by piece
    checks: list[SentenceCheck] = field(default_factory=list)  # of the sentences shown (marked ones included)
    failed: list[SentenceCheck] = field(default_factory=list)  # claims that failed (dropped, marked or kept)
    passed: int = 0  # claims that passed
    removed: int = 0  # citations of numbers that are not sources
    _buffer: str = ""

    def __post_init__(self):
        if self.policy not in POLICIES:
            raise ValueError(f"verification policy must be one of {POLICIES}, got {self.policy!r}")

    def feed(self, piece: str) -> Iterator[str]:
        """What can be shown of the text so far (whole sentences, all but the last two held back)."""
        self._buffer += piece
        parts = claim_sentences(self._buffer)
        if len(parts) > 2:
            ready = parts[:-2]
            self._buffer = self._buffer[sum(map(len, ready)):]
            for sentence in ready:
                yield from self._release(sentence)

    def close(self) -> Iterator[str]:
        """The rest, once the generator has finished."""
        rest, self._buffer = claim_sentences(self._buffer), ""
        for sentence in rest:
            yield from self._release(sentence)

    @property
    def text(self) -> str:
        return "".join(self.shown)

    @property
    def supported(self) -> bool:
        return self.passed > 0

    @property
    def claims(self) -> int:
        return self.passed + len(self.failed)

    def _release(self, sentence: str) -> Iterator[str]:
        shown, removed = drop_invalid(sentence, self.n_sources)
        self.removed += removed
        items = self.check(sentence)
        bad = [i for i in items if fails(i)]
        self.passed += sum(1 for i in items if i.claim and not fails(i))
        self.failed += bad
        if bad and self.policy == "drop":
            return
        if bad and self.policy == "mark":
            shown = shown.rstrip() + MARK + shown[len(shown.rstrip()):]
        if shown.strip():
            self.checks += items
            self.shown.append(shown)
            yield shown
