"""Loading a base causal LM for training, wrapping it with LoRA, the Trainer arguments, and merging.

Shared by continued pre-training and instruction tuning. A base model that cannot be
loaded (no network to the hub, a wrong path) stops the run with a ``TrainingError``
that says what was tried and what to pass instead; nothing downloads silently from
anywhere but the hub id the recipe names, and ``trust_remote_code`` stays off unless
the recipe turns it on.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

from gaokerena_rag.causal_lm import merge_adapters
from gaokerena_rag.packaged_models import resolve_model

from .recipes import LoraSpec, ModelSpec, TrainSpec


class TrainingError(RuntimeError):
    """A run that cannot start or finish; the message says why and what to do."""


def _dtype(name: str):
    import torch

    return "auto" if name == "auto" else getattr(torch, name)


def load_tokenizer(spec: ModelSpec):
    from transformers import AutoTokenizer

    try:
        tok = AutoTokenizer.from_pretrained(resolve_model(spec.base), revision=spec.revision,
                                            trust_remote_code=spec.trust_remote_code)
    except (OSError, ValueError) as exc:
        raise TrainingError(cannot_load_message(spec.base, exc)) from exc
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok


def load_base_model(spec: ModelSpec, gradient_checkpointing: bool = False):
    from transformers import AutoModelForCausalLM

    kwargs: dict[str, Any] = dict(revision=spec.revision, dtype=_dtype(spec.dtype),
                                  trust_remote_code=spec.trust_remote_code)
    if spec.attn_implementation:
        kwargs["attn_implementation"] = spec.attn_implementation
    try:
        model = AutoModelForCausalLM.from_pretrained(resolve_model(spec.base), **kwargs)
        model = merge_adapters(model, spec.adapters)
    except (OSError, ValueError) as exc:
        raise TrainingError(cannot_load_message(spec.base, exc)) from exc
    if gradient_checkpointing:
        model.config.use_cache = False
    return model


def cannot_load_message(name: str, exc: Exception, hint: str = "model.base=PATH, or --base PATH") -> str:
    offline = os.environ.get("HF_HUB_OFFLINE") == "1"
    where = ("a local folder" if Path(name).exists() else
             "the Hugging Face hub" + (" (HF_HUB_OFFLINE=1: downloads are off)" if offline else ""))
    return (f"cannot load the base model {name!r} from {where}: {str(exc).splitlines()[0]}\n"
            f"On a machine with hub access the recipe downloads it; here, pass a local model folder "
            f"({hint}).")


def with_lora(model, lora: LoraSpec, gradient_checkpointing: bool):
    """The model wrapped by peft with a trainable LoRA adapter (the base frozen)."""
    from peft import LoraConfig, get_peft_model

    present = {name.rsplit(".", 1)[-1] for name, _ in model.named_modules()}
    missing = [m for m in lora.target_modules if m not in present]
    if missing:
        raise TrainingError(f"LoRA target modules {missing} are not in {type(model).__name__}")
    if gradient_checkpointing:
        model.enable_input_require_grads()  # checkpointed blocks need a grad path from the inputs
    config = LoraConfig(r=lora.r, lora_alpha=lora.alpha, lora_dropout=lora.dropout,
                        target_modules=list(lora.target_modules), task_type="CAUSAL_LM")
    return get_peft_model(model, config)


def training_arguments(train: TrainSpec, output_dir: Path, cls=None, **extra):
    """``TrainingArguments`` (or a subclass such as TRL's ``SFTConfig``) from a recipe's train block."""
    if cls is None:
        from transformers import TrainingArguments as cls  # noqa: N813
    return cls(
        output_dir=str(output_dir), num_train_epochs=train.epochs, max_steps=train.max_steps,
        per_device_train_batch_size=train.batch_size, gradient_accumulation_steps=train.grad_accum,
        learning_rate=train.lr, lr_scheduler_type=train.scheduler, warmup_steps=train.warmup_ratio,
        weight_decay=train.weight_decay, max_grad_norm=train.max_grad_norm,
        bf16=train.precision == "bf16", fp16=train.precision == "fp16",
        gradient_checkpointing=train.gradient_checkpointing,
        gradient_checkpointing_kwargs={"use_reentrant": False} if train.gradient_checkpointing else None,
        logging_steps=train.logging_steps, save_steps=train.save_steps, save_total_limit=train.save_total_limit,
        seed=train.seed, report_to="none", include_num_input_tokens_seen="non_padding", **extra)


def last_checkpoint(output_dir: Path) -> str | None:
    """The newest complete Trainer checkpoint in ``output_dir`` (what a resumed run continues from)."""
    from transformers.trainer_utils import get_last_checkpoint

    return get_last_checkpoint(str(output_dir)) if output_dir.is_dir() else None


def save_atomically(save, target: Path) -> Path:
    """Call ``save(tmp_folder)``, then swap the folder into ``target``: a crash leaves the old one intact."""
    target = Path(target)
    tmp = target.with_name(target.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    save(tmp)
    old = target.with_name(target.name + ".old")
    if target.exists():
        if old.exists():
            shutil.rmtree(old)
        target.rename(old)
    tmp.rename(target)
    if old.exists():
        shutil.rmtree(old)
    return target


def merge_adapter(base: ModelSpec, adapter: Path, out: Path) -> Path:
    """Base weights + LoRA adapter folded into one model folder (safetensors), with the tokenizer."""
    # the adapter carries what it was trained on top of (base_adapters/): merged before it
    model = merge_adapters(load_base_model(replace(base, adapters=[])), [str(adapter)])
    tok = load_tokenizer(ModelSpec(base=str(adapter)) if (adapter / "tokenizer_config.json").exists() else base)

    def save(folder: Path) -> None:
        model.save_pretrained(folder)
        tok.save_pretrained(folder)
        (folder / "gaokerena_merge.json").write_text(json.dumps(
            {"base": base.base, "adapter": str(adapter)}, ensure_ascii=False, indent=2), "utf-8")

    return save_atomically(save, out)
