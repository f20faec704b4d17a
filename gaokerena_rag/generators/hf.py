"""The transformers generator: any Hugging Face causal LM, optionally with PEFT LoRA adapters.

Defaults are the real ones users outside run: the merged ``gaokerena/gaokerena-v1``,
or ``CohereForAI/aya-expanse-8b`` with Gaokerena adapter(s) given in ``adapters``; a packaged
short name (``gemma-3-270m``) works too. A model with a chat template gets the Persian RAG
prompt in it; a base model without one gets the plain format (``prompts.plain_prompt``), and
an adapter's training recipe decides which (the same at training and inference). Answers
stream through ``TextIteratorStreamer``; a plain-format model stops where it starts a new
question. ``trust_remote_code`` is off unless asked for.
"""

from __future__ import annotations

from threading import Thread
from typing import Iterator, Sequence

from ..causal_lm import load_causal_lm, trained_prompt_format
from ..documents import ScoredPassage
from ..prompts import NOT_COVERED, QUESTION_CUE, SYSTEM_PROMPT, chat_messages, plain_prompt, prompt_format
from ..query import Query

# where a plain-format model has finished its answer and begins writing the next exchange
PLAIN_STOPS = (f"\n{QUESTION_CUE}", "\nمنابع:", "\n<source", "\n</source")


class TransformersGenerator:
    framing: tuple[str, ...] = (NOT_COVERED,)  # all it writes is a claim, checked, but the not-covered notice

    def __init__(self, model: str = "gaokerena/gaokerena-v1", adapters: Sequence[str] = (), dtype: str = "auto",
                 device: str | None = None, max_new_tokens: int = 512, temperature: float = 0.0,
                 repetition_penalty: float = 1.0, prompt_format: str = "auto",
                 trust_remote_code: bool = False, system_prompt: str = SYSTEM_PROMPT):
        import torch

        self.name = model + "".join(f"+{a}" for a in adapters)
        self.model, self.tokenizer = load_causal_lm(model, adapters, dtype, trust_remote_code)
        self.prompt_format = _format_for(prompt_format, trained_prompt_format(adapters), self.tokenizer)
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.model.to(self.device).eval()
        self.max_new_tokens = max_new_tokens
        self.temperature = temperature
        self.repetition_penalty = repetition_penalty
        self.system_prompt = system_prompt

    def prompt_ids(self, query: Query, sources: Sequence[ScoredPassage], history: Sequence[dict] | None = None):
        messages = chat_messages(query.raw, sources, history, self.system_prompt)
        if self.prompt_format == "chat":
            return self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt",
                                                      return_dict=True)
        return self.tokenizer(plain_prompt(messages), return_tensors="pt")

    def generate(self, query: Query, sources: Sequence[ScoredPassage],
                 history: Sequence[dict] | None = None) -> Iterator[str]:
        from transformers import TextIteratorStreamer

        inputs = self.prompt_ids(query, sources, history).to(self.device)
        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)
        options = dict(**inputs, streamer=streamer, max_new_tokens=self.max_new_tokens,
                       repetition_penalty=self.repetition_penalty,
                       pad_token_id=self.tokenizer.pad_token_id or self.tokenizer.eos_token_id)
        if self.prompt_format == "plain":
            options.update(stop_strings=list(PLAIN_STOPS), tokenizer=self.tokenizer)
        if self.temperature > 0:
            options.update(do_sample=True, temperature=self.temperature)
        else:
            options.update(do_sample=False)
        thread = Thread(target=self.model.generate, kwargs=options, daemon=True)
        thread.start()
        try:
            yield from until(streamer, PLAIN_STOPS if self.prompt_format == "plain" else ())
        finally:
            thread.join()


def until(pieces, stops: Sequence[str]) -> Iterator[str]:
    """``pieces`` as they come, up to (not including) the first of ``stops``; a piece that could be the
    start of a stop is held back until it is clear."""
    if not stops:
        yield from pieces
        return
    held = ""
    for piece in pieces:
        held += piece
        cut = min((i for i in (held.find(s) for s in stops) if i >= 0), default=-1)
        if cut >= 0:
            if held[:cut]:
                yield held[:cut]
            return
        keep = max((k for s in stops for k in range(1, len(s)) if held.endswith(s[:k])), default=0)
        if len(held) > keep:
            yield held[: len(held) - keep]
            held = held[len(held) - keep:]
    if held:
        yield held


def _format_for(requested: str, trained: str | None, tokenizer) -> str:
    if trained and requested not in ("auto", trained):
        raise ValueError(f"the adapter was trained with the {trained} prompt format, not {requested}")
    return prompt_format(trained or requested, tokenizer)


def build(options: dict, retriever=None) -> TransformersGenerator:
    """The registered factory."""
    return TransformersGenerator(**options)
