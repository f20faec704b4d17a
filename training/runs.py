"""The end of a LoRA training run: the adapter saved atomically with its recipe, the optional merge, and the report."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from gaokerena_rag.causal_lm import copy_base_adapters

from .models import merge_adapter, save_atomically
from .recipes import recipe_dict


@dataclass
class RunReport:
    """What a training run did: where its outputs are, its losses and how long it took."""

    out_dir: Path
    adapter: Path
    merged: Path | None
    steps: int
    first_loss: float | None
    last_loss: float | None
    resumed_from: str | None
    seconds: float
    examples: int  # packed blocks (CPT) or prompt/completion rows (SFT) available
    tokens: int = 0  # input tokens the optimizer steps saw (padding not counted; a resumed run's earlier ones too)

    def summary(self) -> str:
        return (f"{self.steps} steps ({self.tokens:,} tokens) of {self.examples} examples in {self.seconds:.0f} s, "
                f"{loss_text(self.first_loss, self.last_loss)}; adapter: "
                f"{self.adapter}" + (f"; merged model: {self.merged}" if self.merged else "")
                + (f" (resumed from {self.resumed_from})" if self.resumed_from else ""))


def losses(trainer) -> list[float]:
    return [h["loss"] for h in trainer.state.log_history if "loss" in h]


def loss_text(first: float | None, last: float | None) -> str:
    return f"loss {first:.3f} → {last:.3f}" if first is not None and last is not None else "no loss logged"


def finish(trainer, recipe, model_spec, examples: int, resumed: str | None, t0: float) -> RunReport:
    """Save the adapter (atomically) and the recipe; merge if asked; report."""
    out = Path(recipe.out_dir)
    tokenizer = trainer.processing_class

    def save(folder: Path) -> None:
        trainer.model.save_pretrained(folder)  # adapter_model.safetensors + adapter_config.json
        tokenizer.save_pretrained(folder)
        copy_base_adapters(model_spec.adapters, folder)  # what it was trained on top of travels with it
        (folder / "recipe.json").write_text(json.dumps(recipe_dict(recipe), ensure_ascii=False, indent=2), "utf-8")

    tokens = int(trainer.state.num_input_tokens_seen or 0)
    if not trainer.is_world_process_zero():
        return RunReport(out, out / "adapter", None, trainer.state.global_step, None, None, resumed,
                         time.perf_counter() - t0, examples, tokens)
    seen = losses(trainer)
    runtime = max((float(h.get("train_runtime", 0.0)) for h in trainer.state.log_history), default=0.0)  # cumulative

    def save_with_report(folder: Path) -> None:
        save(folder)
        (folder / "run.json").write_text(json.dumps({  # what this adapter's run did, kept with it
            "steps": trainer.state.global_step, "tokens": tokens, "examples": examples,
            "first_loss": seen[0] if seen else None, "last_loss": seen[-1] if seen else None,
            "train_seconds": runtime, "resumed_from": resumed}, indent=2), "utf-8")

    adapter = save_atomically(save_with_report, out / "adapter")
    merged = merge_adapter(model_spec, adapter, out / "merged") if recipe.merge else None
    return RunReport(out, adapter, merged, trainer.state.global_step, seen[0] if seen else None,
                     seen[-1] if seen else None, resumed, time.perf_counter() - t0, examples, tokens)
