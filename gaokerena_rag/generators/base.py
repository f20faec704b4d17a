"""The generator protocol and its configuration."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator, Protocol, Sequence, runtime_checkable

from ..documents import Source


@runtime_checkable
class Generator(Protocol):
    """Writes an answer from numbered sources, as a stream of text pieces."""

    name: str  # the model (or method) that wrote the answer, reported in every Answer

    def generate(self, question: str, sources: Sequence[Source],
                 history: Sequence[dict] | None = None) -> Iterator[str]: ...


@dataclass
class GeneratorConfig:
    """Which backend writes answers, and its options (passed to its constructor)."""

    backend: str = "extractive"
    extractive: dict[str, Any] = field(default_factory=dict)
    transformers: dict[str, Any] = field(default_factory=dict)
    openai: dict[str, Any] = field(default_factory=dict)
