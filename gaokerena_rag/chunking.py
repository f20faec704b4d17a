"""Sentence-aware chunking of Persian text into passages under a word budget.

Sentences end at ``.`` ``؟`` ``?`` ``!`` ``؛`` ``;`` and line breaks. Sentences are
packed into chunks of at most ``max_words`` words; consecutive chunks share up to
``overlap_words`` words of whole trailing sentences. A single sentence longer than
the budget is cut at word boundaries. The text of each chunk is a slice of the
original, so what is stored and cited is what the source wrote.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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


def _words(text: str) -> int:
    return len(text.split())


@dataclass(frozen=True)
class Chunker:
    """Packs sentences into passages of at most ``max_words`` words."""

    max_words: int = 200
    overlap_words: int = 30

    def __post_init__(self) -> None:
        if self.max_words < 1:
            raise ValueError("max_words must be >= 1")
        if not 0 <= self.overlap_words < self.max_words:
            raise ValueError("overlap_words must be >= 0 and < max_words")

    def _pieces(self, text: str) -> list[str]:
        pieces: list[str] = []
        for sentence in split_sentences(text):
            if _words(sentence) <= self.max_words:
                pieces.append(sentence)
                continue
            words = re.findall(r"\S+\s*", sentence)
            for i in range(0, len(words), self.max_words):
                pieces.append("".join(words[i : i + self.max_words]))
        return pieces

    def chunk(self, text: str) -> list[str]:
        """Return the passages of ``text`` (stripped); an all-blank text gives none."""
        pieces = self._pieces(text)
        chunks: list[str] = []
        current: list[str] = []
        count = 0
        for piece in pieces:
            n = _words(piece)
            if current and count + n > self.max_words:
                chunks.append("".join(current).strip())
                # carry whole trailing sentences as overlap
                carry: list[str] = []
                carried = 0
                for prev in reversed(current):
                    w = _words(prev)
                    if carried + w > self.overlap_words or carried + w + n > self.max_words:
                        break
                    carry.insert(0, prev)
                    carried += w
                current, count = carry, carried
            current.append(piece)
            count += n
        if current and "".join(current).strip():
            chunks.append("".join(current).strip())
        return chunks

    def to_dict(self) -> dict:
        return {"max_words": self.max_words, "overlap_words": self.overlap_words}
