"""Answer generators behind one small protocol: ``extractive`` (default, CPU, no weights),
``transformers`` (any causal LM, optional LoRA adapters), ``openai`` (any OpenAI-compatible endpoint).

Heavy imports happen inside ``load_generator`` for the backend asked for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .base import Generator, GeneratorConfig

if TYPE_CHECKING:  # pragma: no cover
    from ..tfidf_store import TfidfSide


def load_generator(config: GeneratorConfig, lexical: TfidfSide | None = None) -> Generator:
    """Build the generator a config names; nothing falls back to another backend silently.

    ``lexical``: the index's TF-IDF side (character 4-grams), whose tokenizer and IDF the
    extractive generator scores sentences with.
    """
    if config.backend == "extractive":
        from .extractive import ExtractiveGenerator

        if lexical is not None:
            return ExtractiveGenerator(idf=lexical.idf_of, tokenizer=lexical.tokenizer, **config.extractive)
        return ExtractiveGenerator(**config.extractive)
    if config.backend == "transformers":
        from .hf import TransformersGenerator

        return TransformersGenerator(**config.transformers)
    if config.backend == "openai":
        from .openai_compat import OpenAIGenerator

        return OpenAIGenerator(**config.openai)
    raise ValueError(f"unknown generator backend {config.backend!r}; expected extractive, transformers or openai")


__all__ = ["Generator", "GeneratorConfig", "load_generator"]
