"""Answers on MF3QA dev: calibration of abstention and citation support, quality, grounding, latency.

Index: the default knowledge base (MF3QA train consultations only; no dev answer is in it).
Dev questions are split in halves: the first half (with the first half of the written
non-medical questions, ``training/data/out_of_domain_fa.json``) calibrates, the second
half (with the other non-medical half) is reported.

* Abstention: set by ``benchmarks/answer_gates.py`` (every gate together); shown here for
  reference is what each evidence signal alone would refuse at ``--dev-abstain``.
* Citation support: sentences of dev doctor answers checked against the top train
  consultation retrieved for the same question (on topic, another doctor): the lexical and
  semantic thresholds are set so that at most ``--false-support`` of them count as supported.
* Reported half: token-F1 and ROUGE-L against the doctor's answer for the extractive
  answer, two ablations of its dense signal, and retrieval only (the top source's answer
  part); citation validity, grounding, abstention, red-flag share, and end-to-end ``ask``
  latency p50/p95.

    python benchmarks/mf3qa_answers.py [--data ../shared/data/mf3qa] [--n 1000]

Writes the ``answers`` section of BENCHMARKS.md and the citation-support calibration of the
knowledge base's embedder (``gaokerena_rag/data/calibrations``); prints the settings.
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
from gaokerena_rag.assistant import GaokerenaAssistant  # noqa: E402
from gaokerena_rag.gates import evidence  # noqa: E402
from gaokerena_rag.calibration import write_calibration  # noqa: E402
from gaokerena_rag.chunking import split_sentences  # noqa: E402
from gaokerena_rag.citations import SupportThresholds, lexical_support  # noqa: E402
from gaokerena_rag.generators.extractive import ExtractiveGenerator  # noqa: E402
from training.mf3qa_eval import answer_report  # noqa: E402

SIGNALS = ("dense", "char4")


def calibrate_abstention(assistant, dev_q, ood_q, rate: float) -> tuple[str, float, dict]:
    dev_res = assistant.retriever.retrieve_many(dev_q, assistant.k)
    ood_res = assistant.retriever.retrieve_many(ood_q, assistant.k)
    found = {}
    for signal in SIGNALS:
        dev_ev = np.array([evidence(r, signal) for r in dev_res])
        ood_ev = np.array([evidence(r, signal) for r in ood_res])
        threshold = float(np.quantile(dev_ev, rate))
        found[signal] = (threshold, float((ood_ev < threshold).mean()))
    best = max(SIGNALS, key=lambda s: found[s][1])
    return best, found[best][0], found


def calibrate_support(assistant, dev_pairs, false_support: float) -> tuple[SupportThresholds, dict]:
    dev_pairs = dev_pairs[:300]  # embedding whole consultations is the slow part
    sentences, passages = [], []
    results = assistant.retriever.retrieve_many([q for q, _a, _s in dev_pairs], 1)
    for (_q, answer, _s), res in zip(dev_pairs, results):
        if not res:
            continue
        for sentence in split_sentences(answer):
            if len(sentence.split()) >= 5:
                sentences.append(sentence)
                passages.append(res[0].text)
    lexical = np.array([lexical_support(s, p) for s, p in zip(sentences, passages)])
    embed = assistant.retriever.embedder.embed_passages
    unique = list(dict.fromkeys(passages))
    pv = dict(zip(unique, embed(unique)))
    sv = embed(sentences)
    semantic = np.array([float(v @ pv[p]) for v, p in zip(sv, passages)])
    lex_t = float(np.quantile(lexical, 1 - false_support))
    sem_t = float(np.quantile(semantic, 1 - false_support))
    both = float(((lexical >= lex_t) | (semantic >= sem_t)).mean())
    return SupportThresholds(lexical=round(lex_t, 3), semantic=round(sem_t, 3)), {
        "pairs": len(sentences), "either_supported": both}


class SentenceDenseExtractive(ExtractiveGenerator):
    """Ablation: the default's scores, then the top candidates re-scored half by the cosine of
    each sentence's own embedding with the question's (the design the default replaced)."""

    def __init__(self, embedder, top: int = 6, words: int = 32, weight: float = 0.5, **kw):
        super().__init__(**kw)
        self.embedder, self.top, self.words, self.weight = embedder, top, words, weight

    def candidates(self, query, sources):
        out = super().candidates(query, sources)
        if out:
            top = sorted(out, key=lambda c: -c.score)[: self.top]
            qv = self.embedder.embed_queries([query.stripped])[0]
            sv = self.embedder.embed_passages([" ".join(c.text.split()[: self.words]) for c in top])
            for cand, vec in zip(top, sv):
                cand.score = (1 - self.weight) * cand.score + self.weight * float(vec @ qv)
        return out


def score_variant(assistant, report) -> tuple[float, float, int, str]:
    r = answer_report(assistant, [(q, ref) for q, ref, _s in report], progress=False)
    return r["token_f1"], r["rouge_l"], r["answered"], f"{r['p50_ms']:.0f} / {r['p95_ms']:.0f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=str(ROOT.parent / "shared/data/mf3qa"))
    ap.add_argument("--n", type=int, default=1000, help="dev questions per half")
    ap.add_argument("--dev-abstain", type=float, default=0.03)
    ap.add_argument("--false-support", type=float, default=0.05)
    ap.add_argument("--calibrate-only", action="store_true", help="write the calibration, skip the report")
    args = ap.parse_args()

    kb, half, calib, report = dev_halves(args.data, args.n)
    ood = json.loads((ROOT / "training/data/out_of_domain_fa.json").read_text("utf-8"))["questions"]
    ood_calib, ood_report = ood[: len(ood) // 2], ood[len(ood) // 2:]

    assistant = GaokerenaAssistant.from_index(kb.index_path)
    # the abstention thresholds are calibrated by benchmarks/answer_gates.py (all gates together); this
    # shows what each signal alone would do at --dev-abstain, for reference
    _best, _t, per_signal = calibrate_abstention(assistant, [q for q, _a, _s in calib], ood_calib, args.dev_abstain)
    signal, threshold = assistant.config.evidence_signal, assistant.config.min_evidence
    support, support_info = calibrate_support(assistant, calib, args.false_support)
    config = replace(assistant.config, support=support)
    assistant = GaokerenaAssistant(assistant.retriever, config=config)
    embedder, today = assistant.retriever.embedder, time.strftime("%Y-%m-%d")
    write_calibration(embedder, "support", {
        "lexical": support.lexical, "semantic": support.semantic,
        "made_on": f"sentences of {support_info['pairs']} MF3QA dev answers (dev 1-300) against the top train "
                   f"consultation for the same question, at most {args.false_support:.0%} supported "
                   f"(benchmarks/mf3qa_answers.py, {today})"})
    if args.calibrate_only:
        return

    for q in ood_calib[:3]:  # warm caches and the engine
        assistant.ask(q)
    r = answer_report(assistant, [(q, ref) for q, ref, _s in report], progress=False)
    ood_abstain = sum(assistant.ask(q).abstained for q in ood_report) / len(ood_report)
    n = len(report)
    rows = [("extractive (default: sentence char-4 TF-IDF + source dense cosine + rank)",
             r["token_f1"], r["rouge_l"], r["answered"], f"{r['p50_ms']:.0f} / {r['p95_ms']:.0f}")]
    char4 = dict(vectorize=assistant.generator.vectorize)
    ablations = (("extractive, no dense signal (dense_weight 0)", ExtractiveGenerator(dense_weight=0.0, **char4)),
                 ("extractive, each of the top 6 sentences also embedded",
                  SentenceDenseExtractive(assistant.retriever.embedder, **char4)))
    for name, generator in ablations:
        variant = GaokerenaAssistant(assistant.retriever, generator, config)
        rows.append((name, *score_variant(variant, report)))
    rows.append(("retrieval only (top source's answer)", r["retrieval_only_token_f1"], r["retrieval_only_rouge_l"], n,
                 "–"))
    body = [
        "## Answers on MF3QA dev (index: train consultations only)",
        "",
        f"Machine: {machine()}. Written by `benchmarks/mf3qa_answers.py`. Knowledge base: "
        f"{kb.index_path.name} (MF3QA train, 18,225 consultations; embedder `{embedder.spec}`). Reported: dev questions {half + 1}–{half + n}; "
        f"calibrated on dev 1–{len(calib)} and the first {len(ood_calib)} written non-medical questions.",
        "",
        table(rows, ["answer", "token-F1", "ROUGE-L", "questions scored", "ask p50 / p95 ms"]),
        "",
        f"- Abstention (answer_gates.py): signal `{signal}`, threshold {threshold:.4f}; for reference, at {args.dev_abstain:.0%} of calibration dev alone, "
        + "; ".join(f"`{s}` at its threshold {t:.4f} would abstain on {o:.0%} of calibration non-medical questions"
                    for s, (t, o) in per_signal.items())
        + f". Reported half: abstained on {r['abstained']:.3f} of dev questions and {ood_abstain:.3f} of the "
        f"other {len(ood_report)} non-medical questions.",
        f"- Citation support thresholds: lexical {support.lexical}, semantic {support.semantic} (at most "
        f"{args.false_support:.0%} of {support_info['pairs']} dev answer sentences count as supported by the top "
        f"train consultation for the same question, on topic but another doctor's words; either test passes "
        f"{support_info['either_supported']:.3f} of them).",
        f"- Citations printed: {r['citations_printed']}; answers with every citation in range: "
        f"{round(r['citations_in_range'] * n)}/{n}; out-of-range citations removed: {r['citations_removed']}.",
        f"- Grounding of extractive answers: mean {r['grounding_mean']:.3f}, min {r['grounding_min']:.3f}.",
        f"- Emergency notice shown on {r['emergency']:.3f} of dev questions.",
        f"- `ask` end to end (red flags, retrieval, generation, citation check), one at a time: "
        f"p50 {r['p50_ms']:.0f} ms, p95 {r['p95_ms']:.0f} ms.",
    ]
    write_section("answers", "\n".join(body))
    print("\n".join(body))
    print(json.dumps({"evidence_signal": signal, "min_evidence": round(threshold, 4),
                      "support": {"lexical": support.lexical, "semantic": support.semantic}}))


if __name__ == "__main__":
    main()
