"""Sentence-aware chunking of Persian text into passages under a word budget.

Sentences end at ``.`` ``؟`` ``?`` ``!`` ``؛`` ``;`` and line breaks. Sentences are
packed into chunks of at most ``max_words`` words; consecutive chunks share up to
``overlap_words`` words of whole trailing sentences. A single sentence longer than
the budget is cut at word boundaries. A "word" longer than ``max_word_chars`` (a 2-million
character run with no space) counts as one word per ``max_word_chars`` characters and is
cut there, so no chunk grows past ``max_words × max_word_chars`` characters. The text of
each chunk is a slice of the original, so what is stored and cited is what the source
wrote; a chunk of invisible characters only is dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from .normalize import has_visible_text

_SENTENCE_END = re.compile(r"[.؟?!؛;…]+[\"'»)\]]*\s*|\n+\s*")


def split_sentences(text: str) -> list[str]:
    """Split text into sentences (each keeps its closing punctuation); never loses characters."""
    out: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        end = match.end()
        piece = text[start:end]
        if piece.strip():
            out.append(piece)
        elif out:
            out[-1] += piece
        start = end
    if start < len(text):
        tail = text[start:]
        if tail.strip():
            out.append(tail)
        elif out:
            out[-1] += tail
    return out


@dataclass(frozen=True)
class Chunker:
    """Packs sentences into passages of at most ``max_words`` words."""

    max_words: int = 200
    overlap_words: int = 30
    max_word_chars: int = 64

    def __post_init__(self) -> None:
        if self.max_words < 1 or self.max_word_chars < 1:
            raise ValueError("max_words and max_word_chars must be >= 1")
        if not 0 <= self.overlap_words < self.max_words:
            raise ValueError("overlap_words must be >= 0 and < max_words")

    @cached_property
    def _word(self) -> re.Pattern:
        return re.compile(rf"\S{{1,{self.max_word_chars}}}")

    @cached_property
    def _unit(self) -> re.Pattern:
        return re.compile(rf"\S{{1,{self.max_word_chars}}}\s*")

    def _words(self, text: str) -> int:
        return sum(1 for _ in self._word.finditer(text))

    def _pieces(self, text: str) -> list[str]:
        pieces: list[str] = []
        for sentence in split_sentences(text):
            if self._words(sentence) <= self.max_words:
                pieces.append(sentence)
                continue
            words = self._unit.findall(sentence)
            head = sentence[: len(sentence) - len(sentence.lstrip())]  # leading blanks stay with the first piece
            for i in range(0, len(words), self.max_words):
                pieces.append(head + "".join(words[i : i + self.max_words]))
                head = ""
        return pieces

    def chunk(self, text: str) -> list[str]:
        """Return the passages of ``text`` (stripped); an all-blank or invisible-only text gives none."""
        pieces = self._pieces(text)
        chunks: list[str] = []
        current: list[str] = []
        count = 0
        for piece in pieces:
            n = self._words(piece)
            if current and count + n > self.max_words:
                chunks.append("".join(current).strip())
                # carry whole trailing sentences as overlap
                carry: list[str] = []
                carried = 0
                for prev in reversed(current):
                    w = self._words(prev)
                    if carried + w > self.overlap_words or carried + w + n > self.max_words:
                        break
                    carry.insert(0, prev)
                    carried += w
                current, count = carry, carried
            current.append(piece)
            count += n
        if current and "".join(current).strip():
            chunks.append("".join(current).strip())
        return [c for c in chunks if has_visible_text(c)]

    def to_dict(self) -> dict:
        return {"max_words": self.max_words, "overlap_words": self.overlap_words, "max_word_chars": self.max_word_chars}
