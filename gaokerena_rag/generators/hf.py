"""The transformers generator: any Hugging Face causal LM, optionally with PEFT LoRA adapters.

Defaults are the real ones users outside run: the merged ``gaokerena/gaokerena-v1``,
or ``CohereForAI/aya-expanse-8b`` with Gaokerena adapter(s) given in ``adapters``.
The model's own chat template formats the Persian RAG prompt; answers stream
through ``TextIteratorStreamer``. ``trust_remote_code`` is off unless asked for.
"""

from __future__ import annotations

from threading import Thread
from typing import Iterator, Sequence

from ..documents import ScoredPassage
from ..prompts import SYSTEM_PROMPT, chat_messages
from ..query import Query


def load_causal_lm(model: str, adapters: Sequence[str] = (), dtype: str = "auto", trust_remote_code: bool = False):
    """(model, tokenizer) of a Hugging Face causal LM, with PEFT LoRA adapters applied."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model, trust_remote_code=trust_remote_code)
    torch_dtype = dtype if dtype == "auto" else getattr(torch, dtype)
    lm = AutoModelForCausalLM.from_pretrained(model, dtype=torch_dtype, trust_remote_code=trust_remote_code)
    if adapters:
        from peft import PeftModel

        # stacked adapters (e.g. CPT then SFT): each was trained on the model with the earlier
        # ones merged in, so they are merged in order and the last one is applied on top
        for adapter in adapters[:-1]:
            lm = PeftModel.from_pretrained(lm, adapter).merge_and_unload()
        lm = PeftModel.from_pretrained(lm, adapters[-1])
    return lm, tokenizer


class TransformersGenerator:
    framing: tuple[str, ...] = ()  # everything it writes is a claim, checked

    def __init__(self, model: str = "gaokerena/gaokerena-v1", adapters: Sequence[str] = (), dtype: str = "auto",
                 device: str | None = None, max_new_tokens: int = 512, temperature: float = 0.0,
                 trust_remote_code: bool = False, system_prompt: str = SYSTEM_PROMPT):
        import torch

        self.name = model + "".join(f"+{a}" for a in adapters)
        self.model, self.tokenizer = load_causal_lm(model, adapters, dtype, trust_remote_code)
        if not getattr(self.tokenizer, "chat_template", None):
            raise ValueError(f"{model}: the tokenizer has no chat template; the RAG prompt needs one")
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.model.to(self.device).eval()
        self.max_new_tokens = max_new_tokens
        self.temperature = temperature
        self.system_prompt = system_prompt

    def generate(self, query: Query, sources: Sequence[ScoredPassage],
                 history: Sequence[dict] | None = None) -> Iterator[str]:
        from transformers import TextIteratorStreamer

        messages = chat_messages(query.raw, sources, history, self.system_prompt)
        inputs = self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt",
                                                    return_dict=True).to(self.device)
        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)
        options = dict(**inputs, streamer=streamer, max_new_tokens=self.max_new_tokens,
                       pad_token_id=self.tokenizer.pad_token_id or self.tokenizer.eos_token_id)
        if self.temperature > 0:
            options.update(do_sample=True, temperature=self.temperature)
        else:
            options.update(do_sample=False)
        thread = Thread(target=self.model.generate, kwargs=options, daemon=True)
        thread.start()
        try:
            yield from streamer
        finally:
            thread.join()


def build(options: dict, retriever=None) -> TransformersGenerator:
    """The registered factory."""
    return TransformersGenerator(**options)
