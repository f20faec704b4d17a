"""The OpenAI-compatible generator: any chat-completions endpoint (vLLM, llama.cpp server,
Ollama, ``transformers serve``), streaming. This is the one backend that uses the network,
and only the address it is given."""

from __future__ import annotations

import os
from typing import Iterator, Sequence

from ..documents import ScoredPassage
from ..prompts import SYSTEM_PROMPT, chat_messages
from ..query import Query


class OpenAIGenerator:
    framing: tuple[str, ...] = ()  # everything it writes is a claim, checked

    def __init__(self, base_url: str = "http://127.0.0.1:8000/v1", model: str = "gaokerena/gaokerena-v1",
                 api_key: str | None = None, temperature: float = 0.0, max_tokens: int = 512,
                 timeout: float = 120.0, system_prompt: str = SYSTEM_PROMPT):
        try:
            from openai import OpenAI
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise ImportError("the openai backend needs the 'openai' extra: "
                              "pip install -c constraints.txt 'gaokerena-rag[openai]'") from exc
        self.name = f"{model}@{base_url}"
        self.model = model
        self.client = OpenAI(base_url=base_url, api_key=api_key or os.environ.get("OPENAI_API_KEY") or "not-needed",
                             timeout=timeout, max_retries=0)
        self.temperature = float(temperature)
        self.max_tokens = max_tokens
        self.system_prompt = system_prompt

    def generate(self, query: Query, sources: Sequence[ScoredPassage],
                 history: Sequence[dict] | None = None) -> Iterator[str]:
        stream = self.client.chat.completions.create(
            model=self.model, messages=chat_messages(query.raw, sources, history, self.system_prompt),
            stream=True, temperature=self.temperature, max_tokens=self.max_tokens)
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta and chunk.choices[0].delta.content:
                yield chunk.choices[0].delta.content


def build(options: dict, retriever=None) -> OpenAIGenerator:
    """The registered factory."""
    return OpenAIGenerator(**options)
