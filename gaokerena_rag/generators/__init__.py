"""Answer generators behind one small protocol: ``extractive`` (default, CPU, no weights),
``transformers`` (any causal LM, optional LoRA adapters), ``openai`` (any OpenAI-compatible endpoint).

Heavy imports happen inside ``load_generator`` for the backend asked for.
"""

from __future__ import annotations

from typing import Callable

from .base import Generator, GeneratorConfig


def load_generator(config: GeneratorConfig, idf: Callable[[str], float] | None = None) -> Generator:
    """Build the generator a config names; nothing falls back to another backend silently.

    ``idf``: the index's character-4-gram IDF, which the extractive generator scores with.
    """
    if config.backend == "extractive":
        from .extractive import ExtractiveGenerator

        return ExtractiveGenerator(idf=idf, **config.extractive)
    if config.backend == "transformers":
        from .hf import TransformersGenerator

        return TransformersGenerator(**config.transformers)
    if config.backend == "openai":
        from .openai_compat import OpenAIGenerator

        return OpenAIGenerator(**config.openai)
    raise ValueError(f"unknown generator backend {config.backend!r}; expected extractive, transformers or openai")


__all__ = ["Generator", "GeneratorConfig", "load_generator"]
