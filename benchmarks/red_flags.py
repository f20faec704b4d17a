"""Red-flag detection: recall and precision on the held-out Persian set, false alarms on real questions.

* Held-out set 1 (``tests/redflag_cases.py``): written after the rules and the classifier's
  examples were fixed, never used to change them.
* Held-out set 2 (``benchmarks/data/redflags_batch2_fa.json``, issue 15): 32 emergencies and 32
  look-alikes written before that issue's rule and classifier changes, never used to change
  them.
* Training examples (``training/data/redflag_examples.json``): in-sample, for reference.
* MF3QA dev questions, second half (the first half set the classifier's threshold):
  the share flagged, an upper bound on false alarms in real traffic (dev holds some
  true emergencies).
* Latency of one ``RedFlagDetector.detect`` (rules, then one query embedding).

    python benchmarks/red_flags.py [--data ../shared/data/mf3qa]

Writes the ``red-flags`` section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from benchmarks.common import machine, table, write_section  # noqa: E402
from gaokerena_rag.safety import RedFlagDetector, red_flags  # noqa: E402
from index_build.presets import mf3qa_pairs  # noqa: E402
from training.mf3qa_eval import percentile  # noqa: E402


def score(detect, emergencies, others) -> tuple[float, float, int, list[str]]:
    found = [detect(q) for q, _c in emergencies]
    tp = sum(f.emergency for f in found)
    fp = sum(detect(q).emergency for q in others)
    misses = [q for (q, _c), f in zip(emergencies, found) if not f.emergency]
    right_category = sum(c in f.categories for (_q, c), f in zip(emergencies, found))
    return tp / len(emergencies), tp / max(tp + fp, 1), right_category, misses


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=str(ROOT.parent / "shared/data/mf3qa"))
    args = ap.parse_args()
    import redflag_cases as held

    examples = json.loads((ROOT / "training/data/redflag_examples.json").read_text("utf-8"))
    train_e = [(e["text"], e["category"]) for e in examples["emergencies"]]
    train_n = examples["look_alikes"]
    batch2 = json.loads((ROOT / "benchmarks/data/redflags_batch2_fa.json").read_text("utf-8"))
    detector = RedFlagDetector()
    rows, notes, false_alarms = [], {}, {}
    for name, fn in (("rules only", red_flags), ("rules + classifier (product)", detector.detect)):
        for label, e, n in (("held-out 1 (2026-11-25)", held.EMERGENCIES, held.NON_EMERGENCIES),
                            ("held-out 2 (2026-12-01, issue 15)", [tuple(x) for x in batch2["emergencies"]],
                             batch2["look_alikes"]),
                            ("training examples (in-sample)", train_e, train_n)):
            rec, prec, cat, misses = score(fn, e, n)
            rows.append((name, label, f"{len(e)} + {len(n)}", rec, prec, f"{cat}/{len(e)}"))
            if label.startswith("held-out") and name.endswith("(product)"):
                notes[label] = misses
                false_alarms[label] = [q for q in n if detector.detect(q).emergency]
    # non-emergencies written for another check (look-alike conditions), never tuned on: false alarms only
    plain = [x["q"] for x in json.loads((ROOT / "benchmarks/data/lookalike_questions_fa.json")
                                        .read_text("utf-8"))["questions"]]
    plain_alarms = [(q, detector.detect(q).categories) for q in plain]
    plain_alarms = [(q, c) for q, c in plain_alarms if c]
    dev = [q for q, _a, _s in mf3qa_pairs(args.data, "dev")]
    report = dev[len(dev) // 2:]
    rule_rate = sum(red_flags(q).emergency for q in report) / len(report)
    times, flagged = [], 0
    for q in report:
        t = time.perf_counter()
        flagged += detector.detect(q).emergency
        times.append(time.perf_counter() - t)
    body = [
        "## Red flags (emergencies first)",
        "",
        f"Machine: {machine()}. Written by `benchmarks/red_flags.py`.",
        "",
        table(rows, ["detector", "set", "emergencies + look-alikes", "recall", "precision", "right category"]),
        "",
        *[f"- {label}: misses {notes[label] or 'none'}; false alarms {false_alarms[label] or 'none'}."
          for label in notes],
        f"- {len(plain)} questions about look-alike conditions (`benchmarks/data/lookalike_questions_fa.json`, none an "
        f"emergency, held out): the product detector raises {len(plain_alarms)} false alarms"
        + (": " + "; ".join(f"{q} ({', '.join(c)})" for q, c in plain_alarms) if plain_alarms else "") + ".",
        "",
        f"MF3QA dev questions {len(dev) // 2 + 1}-{len(dev)} (the first half set the classifier's threshold "
        f"at {detector.classifier.provenance.get('flag_rate_target')} flagged): rules flag {rule_rate:.3f}, the product "
        f"detector {flagged / len(report):.3f}. Dev holds real emergencies too, so this bounds false alarms from above.",
        "",
        f"Detection latency (rules, then one query embedding by `{detector.classifier.embedder}` when no rule "
        f"fires; in an answer that embedding is the retriever's own when the embedders match): "
        f"p50 {1000 * percentile(times, 50):.1f} ms, p95 {1000 * percentile(times, 95):.1f} ms.",
    ]
    write_section("red-flags", "\n".join(body))
    print("\n".join(body))


if __name__ == "__main__":
    main()
