"""`Document` and `Passage`: what the knowledge layer stores, with stable ids and content hashes.

A document's id is the one its source gives, else one derived from its content
hash, so the same text always gets the same id. The content hash covers every
field that reaches the index (title, text, source, url, metadata): incremental
updates re-embed a document exactly when its hash changes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any


QUESTION_MARK, ANSWER_MARK = "پرسش: ", "\n\nپاسخ: "


def consultation_text(question: str, answer: str) -> str:
    """One consultation as a document text: the patient's question, then the doctor's answer."""
    return f"{QUESTION_MARK}{question}{ANSWER_MARK}{answer}"


def split_consultation(text: str) -> tuple[str, str] | None:
    """``(question, answer)`` of a text made by ``consultation_text``, else None."""
    if text.startswith(QUESTION_MARK) and ANSWER_MARK in text:
        question, answer = text[len(QUESTION_MARK):].split(ANSWER_MARK, 1)
        return question, answer
    return None


@dataclass(frozen=True)
class Document:
    """One source document: a consultation, an article, a page."""

    text: str
    id: str = ""
    title: str = ""
    source: str = ""
    url: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.text, str) or not self.text.strip():
            raise ValueError("Document.text must be a non-empty string")
        if not self.id:
            object.__setattr__(self, "id", "h" + self.content_hash[:16])

    @property
    def content_hash(self) -> str:
        payload = json.dumps(
            [self.title, self.text, self.source, self.url, self.metadata],
            ensure_ascii=False,
            sort_keys=True,
            default=str,
        )
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Passage:
    """A chunk of a document, the unit that is embedded, indexed and cited.

    ``pid`` is the integer id shared by the FAISS index, BM25 and the passage store.
    """

    pid: int
    doc_id: str
    chunk: int
    text: str
    title: str = ""
    source: str = ""
    url: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def passage_id(self) -> str:
        return f"{self.doc_id}#{self.chunk}"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["passage_id"] = self.passage_id
        return data


@dataclass(frozen=True)
class ScoredPassage:
    """A passage found for a query: the one record from retrieval to the page.

    ``rank`` is its place in the retrieval; ``n`` is the number ``[n]`` an answer cites it
    by (the same unless a source before it was withheld). ``scores`` holds the raw score on
    each signal (dense cosine, BM25, TF-IDF cosine), ``ranks`` its rank on each.
    """

    n: int
    pid: int
    doc_id: str
    passage_id: str
    title: str
    text: str
    source: str = ""
    url: str = ""
    score: float = 0.0  # fused retrieval score
    rank: int = 0
    scores: dict[str, float] = field(default_factory=dict)
    ranks: dict[str, int] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    # how it relates to the user's question, when a gate judged it (``applicability.Applies.to_dict``)
    applies: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def consultation(self) -> tuple[str, str] | None:
        """``(patient question, doctor answer)`` when the passage is a consultation."""
        return split_consultation(self.text)

    @property
    def answer_text(self) -> str:
        """The passage without a consultation's question: the part a doctor wrote."""
        parts = self.consultation
        return parts[1] if parts else self.text
