"""How long ``ask`` takes on this machine, idle: p50 / p95 in all and by stage.

The default assistant over the default knowledge base answers MF3QA dev questions from the
reported half (1001 on), one at a time, after ``--warmup`` questions that are not counted.
Run it alone: another job on the two cores doubles the tail. The load average at the start is
printed in the section, so a figure measured under load reads as such.

    python benchmarks/ask_latency.py [--n 300]

Writes the ``ask-latency`` section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from benchmarks.common import dev_halves, machine, table, write_section  # noqa: E402
from gaokerena_rag.assistant import GaokerenaAssistant  # noqa: E402

STAGES = ("embed_s", "safety_s", "retrieve_s", "gate_s", "generate_s", "check_s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=str(ROOT.parent / "shared/data/mf3qa"))
    ap.add_argument("--n", type=int, default=300, help="questions timed")
    ap.add_argument("--warmup", type=int, default=10)
    args = ap.parse_args()

    kb, _half, _calib, report = dev_halves(args.data, 1000)
    assistant = GaokerenaAssistant.from_index(kb.index_path)
    questions = [q for q, _a, _s in report]
    for q in questions[-args.warmup:]:
        assistant.ask(q)
    load = os.getloadavg()[0]
    totals, stages, answered = [], {s: [] for s in STAGES}, 0
    for q in questions[: args.n]:
        t0 = time.perf_counter()
        answer = assistant.ask(q)
        totals.append(1000 * (time.perf_counter() - t0))
        answered += not answer.abstained
        for s in STAGES:
            if s in answer.timings:
                stages[s].append(1000 * answer.timings[s])

    def p(values, q):
        return f"{np.percentile(values, q):.0f}" if values else "–"

    rows = [("ask, in all", p(totals, 50), p(totals, 95), len(totals))]
    rows += [(s.removesuffix("_s"), p(v, 50), p(v, 95), len(v)) for s, v in stages.items()]
    body = "\n".join([
        "## `ask` latency, idle (default assistant, default knowledge base)",
        "",
        f"Machine: {machine()}. Written by `benchmarks/ask_latency.py`: MF3QA dev questions 1001–{1000 + len(totals)}, "
        f"one at a time after {args.warmup} not counted; {answered} answered, the rest abstained on or under an "
        f"emergency banner. Load average at the start: {load:.2f}.",
        "",
        table(rows, ["stage", "p50 ms", "p95 ms", "questions"]),
    ])
    write_section("ask-latency", body)
    print(body)


if __name__ == "__main__":
    main()
