"""Speed of the Gaokerena-V CPT recipe at real size: a CPT LoRA step on aya-expanse-8b's architecture.

The model is CohereForCausalLM built from ``training/data/aya-expanse-8b.config.json`` and
initialised at random in bf16 (speed does not depend on the weights; nothing is
downloaded). It is wrapped with the preset's LoRA (``with_lora``) and trained by the
Hugging Face ``Trainer`` with the preset's own arguments (``training_arguments``: batch
2 × accumulation 16, bf16, gradient checkpointing) on packed blocks of random token ids
at the preset's context length, exactly the shapes ``run_cpt`` feeds. After ``--warmup``
optimizer steps, ``--steps`` more are timed.

Reported: tokens/s, peak GPU memory, model FLOPs utilisation (MFU: the FLOPs the model
needs per token, without the recomputation gradient checkpointing adds, over the
GPU's dense bf16 peak). For a LoRA step the frozen weights need no weight gradient:
4·N + 12·L·d·T FLOPs per token (N = parameters in matrix multiplies, lm_head included;
L layers, d hidden, T context), against 6·N + 12·L·d·T for full fine-tuning (also given,
the usual convention). The whole recipe's time is projected from tokens/s for 60% of
the 90M-token corpus, beside the paper's 19 A100-hours.

    python benchmarks/gpu_cpt_speed.py            # on a GPU; writes the gpu-cpt-speed section
    python benchmarks/gpu_cpt_speed.py --tiny     # a 2-layer model on CPU: checks the script runs
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.common import machine, table, write_section  # noqa: E402
from training.models import training_arguments, with_lora  # noqa: E402
from training.recipes import load_recipe  # noqa: E402

CONFIG = ROOT / "training/data/aya-expanse-8b.config.json"
PEAK_BF16_TFLOPS = {"H100 SXM": 989.4, "H100 NVL": 835.0, "H100 PCIe": 756.0, "H100": 989.4, "H200": 989.4,
                    "A100": 312.0, "L40S": 362.0}
CPT_TOKENS = 0.6 * 90e6  # 60% of the 90M-token corpus, one epoch
PAPER_HOURS = 19.0  # both stages, one A100


def peak_tflops(name: str) -> float | None:
    for key, value in PEAK_BF16_TFLOPS.items():
        if key.replace(" ", "").lower() in name.replace(" ", "").lower():
            return value
    return None


def build_model(tiny: bool):
    import torch
    from transformers import CohereConfig, CohereForCausalLM

    values = {k: v for k, v in json.loads(CONFIG.read_text()).items() if not k.startswith("_") and k != "architectures"}
    values.pop("model_type")
    if tiny:
        values.update(hidden_size=128, intermediate_size=256, num_hidden_layers=2, num_attention_heads=4,
                      num_key_value_heads=2, vocab_size=1000, bos_token_id=1, eos_token_id=2)
    config = CohereConfig(**values)
    device = "cuda" if torch.cuda.is_available() and not tiny else "cpu"
    torch.set_default_dtype(torch.float32 if tiny else torch.bfloat16)
    try:
        with torch.device(device):
            model = CohereForCausalLM(config)
    finally:
        torch.set_default_dtype(torch.float32)
    model.config.use_cache = False
    return model, config, device


def matmul_params(config) -> int:
    d, f, layers = config.hidden_size, config.intermediate_size, config.num_hidden_layers
    kv = d // config.num_attention_heads * config.num_key_value_heads
    per_layer = d * d * 2 + d * kv * 2 + 3 * d * f  # q, o; k, v; gate, up, down
    return layers * per_layer + config.vocab_size * d  # + lm_head (tied with the embedding, still a matmul)


def main() -> None:
    import torch
    from datasets import Dataset
    from transformers import Trainer, TrainerCallback, default_data_collator

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--preset", default="gaokerena-v-cpt")
    ap.add_argument("--steps", type=int, default=4, help="timed optimizer steps")
    ap.add_argument("--warmup", type=int, default=1, help="untimed optimizer steps first")
    ap.add_argument("--tiny", action="store_true", help="a 2-layer model on CPU (checks the script, writes nothing)")
    args = ap.parse_args()

    recipe = load_recipe(args.preset)
    t = recipe.train
    ctx = recipe.context_length if not args.tiny else 64
    model, config, device = build_model(args.tiny)
    model = with_lora(model, recipe.lora, t.gradient_checkpointing)
    micro = t.batch_size * t.grad_accum
    total_steps = args.warmup + args.steps
    rng = torch.Generator().manual_seed(0)
    ids = torch.randint(10, config.vocab_size, (micro * total_steps, ctx), generator=rng)
    data = Dataset.from_dict({"input_ids": ids.tolist(), "labels": ids.tolist()})
    marks: list[float] = []

    class Clock(TrainerCallback):
        def on_step_end(self, a, state, control, **kw):
            if device == "cuda":
                torch.cuda.synchronize()
            marks.append(time.perf_counter())

    with tempfile.TemporaryDirectory() as out:
        from dataclasses import replace

        train = replace(t, max_steps=total_steps, logging_steps=1000, save_steps=10**9,
                        precision=t.precision if not args.tiny else "fp32")
        targs = training_arguments(train, Path(out), save_strategy="no", disable_tqdm=True)
        if device == "cuda":
            torch.cuda.reset_peak_memory_stats()
        trainer = Trainer(model=model, args=targs, train_dataset=data, data_collator=default_data_collator,
                          callbacks=[Clock()])
        trainer.train()
    seconds = marks[-1] - marks[args.warmup - 1] if args.warmup else marks[-1] - marks[0]
    timed = args.steps if args.warmup else args.steps - 1
    tokens = timed * micro * ctx
    tps = tokens / seconds
    n = matmul_params(config)
    attn = 12 * config.num_hidden_layers * config.hidden_size * ctx
    lora_flops, full_flops = 4 * n + attn, 6 * n + attn
    gpu = torch.cuda.get_device_name() if device == "cuda" else "CPU"
    peak = peak_tflops(gpu) if device == "cuda" else None
    mem = torch.cuda.max_memory_allocated() / 2**30 if device == "cuda" else float("nan")
    mfu = tps * lora_flops / (peak * 1e12) if peak else float("nan")
    mfu6 = tps * full_flops / (peak * 1e12) if peak else float("nan")
    hours = CPT_TOKENS / tps / 3600
    rows = [("GPU", gpu), ("context × micro-batch × accumulation", f"{ctx} × {t.batch_size} × {t.grad_accum}"),
            ("timed optimizer steps", f"{timed} ({tokens:,} tokens, {seconds:.1f} s)"),
            ("tokens/s", f"{tps:,.0f}"), ("peak GPU memory", f"{mem:.1f} GiB"),
            ("MFU, LoRA FLOPs (4N + attention)", f"{mfu:.1%}"), ("the same counted as 6N + attention", f"{mfu6:.1%}"),
            ("matmul parameters N", f"{n / 1e9:.2f} B"),
            ("CPT, 60% of 90M tokens, one epoch", f"{hours:.1f} h (paper: both stages {PAPER_HOURS:.0f} A100-h)")]
    body = ["## CPT speed at real size (aya-expanse-8b architecture, random weights)", "",
            f"Written by `benchmarks/gpu_cpt_speed.py` on {machine()}; preset `{args.preset}`.", "",
            table(rows, ["measure", "value"])]
    print("\n".join(body))
    if not args.tiny:
        write_section("gpu-cpt-speed", "\n".join(body))


if __name__ == "__main__":
    main()
