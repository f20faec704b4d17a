"""Loading a causal LM with its LoRA adapters: the one way the generator, the MMLU harness and training do it.

A model name is a hub id, a local folder or a packaged short name (``packaged_models``).
Adapters are applied in order, each merged before the next (each was trained on the
model with the earlier ones merged in), the last kept as a PEFT adapter. An adapter a
recipe trained on top of earlier adapters carries copies of them in ``base_adapters/``
(``copy_base_adapters``), so one adapter folder is a complete description: they are
applied before it. The prompt format the adapter was trained with is in its
``recipe.json`` (``trained_prompt_format``).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Sequence

from .packaged_models import resolve_model

BASE_ADAPTERS = "base_adapters"


def adapter_stack(adapters: Sequence[str]) -> list[str]:
    """``adapters`` with each one's carried ``base_adapters/NN`` placed before it, each adapter once (by its
    weights: ``--adapter cpt --adapter sft`` where sft carries a copy of cpt applies cpt once)."""
    out: list[str] = []
    seen: set[str] = set()

    def add(folder: Path) -> None:
        if not (folder / "adapter_config.json").is_file():
            raise FileNotFoundError(f"{folder}: not a LoRA adapter folder (no adapter_config.json)")
        carried = folder / BASE_ADAPTERS
        for sub in sorted(p for p in carried.iterdir() if p.is_dir()) if carried.is_dir() else ():
            add(sub)
        key = _weights_digest(folder)
        if key not in seen:
            seen.add(key)
            out.append(str(folder))

    for adapter in adapters:
        add(Path(adapter))
    return out


def _weights_digest(folder: Path) -> str:
    weights = folder / "adapter_model.safetensors"
    if not weights.is_file():
        return str(folder.resolve())
    digest = hashlib.sha256()
    with open(weights, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def copy_base_adapters(adapters: Sequence[str], into: Path) -> None:
    """Copy the adapters a run started from (their own carried ones first) into ``into/base_adapters``."""
    for i, adapter in enumerate(adapter_stack(adapters)):
        target = Path(into) / BASE_ADAPTERS / f"{i:02d}"
        # the weights and what made them; the tokenizer is the outer adapter's (the same one)
        shutil.copytree(adapter, target, ignore=shutil.ignore_patterns(BASE_ADAPTERS, "tokenizer*",
                                                                       "special_tokens_map.json", "*.model"))


def merge_adapters(model, adapters: Sequence[str]):
    """``model`` with each adapter of the stack merged in, in order."""
    from peft import PeftModel

    for adapter in adapter_stack(adapters):
        model = PeftModel.from_pretrained(model, adapter).merge_and_unload()
    return model


def load_causal_lm(model: str, adapters: Sequence[str] = (), dtype: str = "auto", trust_remote_code: bool = False):
    """(model, tokenizer) of a causal LM, with its LoRA adapters applied (the last one kept as an adapter)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = resolve_model(model)
    tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=trust_remote_code)
    torch_dtype = dtype if dtype == "auto" else getattr(torch, dtype)
    lm = AutoModelForCausalLM.from_pretrained(path, dtype=torch_dtype, trust_remote_code=trust_remote_code)
    if adapters:
        from peft import PeftModel

        stack = adapter_stack(adapters)
        lm = PeftModel.from_pretrained(merge_adapters(lm, stack[:-1]), stack[-1])
    return lm, tokenizer


def trained_prompt_format(adapters: Sequence[str]) -> str | None:
    """The prompt format (``chat``/``plain``) the last adapter was trained with, when its recipe says."""
    if not adapters:
        return None
    try:
        recipe = json.loads((Path(adapters[-1]) / "recipe.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None
    found = recipe.get("prompt_format")
    return found if found in ("chat", "plain") else None
