"""``Query``: a question prepared once, read by every stage of an answer.

The retriever makes it (``HybridRetriever.prepare``): the raw question, its normalized
form (what phrase rules match), the question without greetings and thanks (what the
embedder and sentence scoring read), the text the embedder saw, its one embedding, and
the tokens of each lexical side (with the other names of any medicine it names, so sources
spelling it another way are found), those medicines, and the look-alike conditions it
names (hypo- or hyperthyroidism, the outer or middle ear). No stage prepares a question again.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .normalize import normalize, strip_courtesies


@dataclass(frozen=True)
class Query:
    raw: str
    normalized: str
    stripped: str  # courtesies removed («سلام دکتر»، «ممنون»)
    dense_text: str  # what the embedder read (stripped or raw, capped)
    vector: np.ndarray | None = None  # the embedding of ``dense_text``, by ``embedder``
    embedder: str | None = None  # the spec of the embedder that made ``vector``
    tokens: dict[str, list[str]] = field(default_factory=dict)  # by lexical side: "words", "char4"
    drugs: dict[str, str] = field(default_factory=dict)  # medicines it names: generic -> the name used
    expansion: tuple[str, ...] = ()  # their other names (added to what lexical matching reads)
    conditions: dict[str, str] = field(default_factory=dict)  # look-alike conditions it names (``lookalikes.py``)

    @classmethod
    def make(cls, raw: str, strip: bool = True, max_embedded_chars: int | None = None) -> "Query":
        """The text forms of ``raw`` (no embedding, no tokens): the one place a question's rules live."""
        raw = raw if isinstance(raw, str) else ""
        stripped = strip_courtesies(raw)
        return cls(raw=raw, normalized=normalize(raw), stripped=stripped,
                   dense_text=(stripped if strip else raw)[:max_embedded_chars])

    def embedding(self, embedder, max_chars: int | None = None) -> np.ndarray:
        """The ``embedder``'s query vector of this question (courtesies removed, at most ``max_chars``): the one
        the retriever made when it is the same embedder and text, else a new one."""
        text = self.stripped[:max_chars]
        if self.vector is not None and embedder.spec == self.embedder and text == self.dense_text:
            return self.vector
        return embedder.embed_queries([text])[0]
