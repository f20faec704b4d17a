"""Answer generators behind one small protocol, registered by name: ``extractive`` (default,
CPU, no weights), ``transformers`` (any causal LM, optional LoRA adapters), ``openai`` (any
OpenAI-compatible endpoint).

A generator is one module with a ``build(options, retriever)`` factory, plus one line in
``GENERATORS`` (or ``register_generator`` from outside the package). Heavy imports happen
only when the backend asked for is built.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Callable

from .base import Generator, GeneratorConfig, sources_cited

if TYPE_CHECKING:  # pragma: no cover
    from ..retrieval import HybridRetriever

Factory = Callable[[dict[str, Any], "HybridRetriever | None"], Generator]

# name -> "module:factory" inside this package (imported when built), or a factory registered at run time
GENERATORS: dict[str, str | Factory] = {
    "consultations": "consultations:build",
    "extractive": "extractive:build",
    "transformers": "hf:build",
    "openai": "openai_compat:build",
}


def register_generator(name: str, factory: Factory) -> None:
    """Make ``GeneratorConfig(backend=name)`` build ``factory(options, retriever)``."""
    GENERATORS[name] = factory


def load_generator(config: GeneratorConfig, retriever: HybridRetriever | None = None) -> Generator:
    """Build the generator a config names; nothing falls back to another backend silently."""
    factory = GENERATORS.get(config.backend)
    if factory is None:
        raise ValueError(f"unknown generator backend {config.backend!r}; expected one of {', '.join(GENERATORS)}")
    if isinstance(factory, str):
        module, _, attr = factory.partition(":")
        factory = getattr(importlib.import_module(f".{module}", __name__), attr)
    return factory(dict(config.options), retriever)


__all__ = ["GENERATORS", "Generator", "GeneratorConfig", "load_generator", "register_generator", "sources_cited"]
