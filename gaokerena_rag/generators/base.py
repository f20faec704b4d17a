"""The generator protocol and its configuration."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator, Protocol, Sequence, runtime_checkable

from ..documents import ScoredPassage
from ..query import Query


@runtime_checkable
class Generator(Protocol):
    """Writes an answer from numbered sources, as a stream of text pieces."""

    name: str  # the model (or method) that wrote the answer, reported in every Answer
    # fixed phrases it writes that are not claims («بر پایه‌ی منابع یافت‌شده:»): never checked against sources
    framing: tuple[str, ...]

    def generate(self, query: Query, sources: Sequence[ScoredPassage],
                 history: Sequence[dict] | None = None) -> Iterator[str]: ...


def sources_cited(generator: Generator, query: Query, sources: Sequence[ScoredPassage]) -> set[int] | None:
    """The numbers of the sources ``generator``'s answer will cite, when it knows them before writing (a
    composer that chooses its sentences first defines ``cites(query, sources)``); None for one that finds out as
    it writes (a language model). The assistant then shows only those, so no source beside an answer is one
    the answer does not use."""
    cites = getattr(generator, "cites", None)
    return None if cites is None else set(cites(query, sources))


@dataclass
class GeneratorConfig:
    """Which registered generator writes answers (``generators.GENERATORS``), and its options
    (passed to its constructor)."""

    backend: str = "consultations"
    options: dict[str, Any] = field(default_factory=dict)
