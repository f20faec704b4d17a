"""Proof that a refactor left answers unchanged: dump every answer's visible parts, then compare two dumps.

    python benchmarks/pipeline_identity.py dump OUT.jsonl [--n 300]     # on the code before, then after
    python benchmarks/pipeline_identity.py compare BEFORE.jsonl AFTER.jsonl

A dump holds, for MF3QA dev questions 1..n and the written non-medical questions
(``training/data/out_of_domain_fa.json``, the abstention path), the answer text, the
sources (passage ids and fused scores), every sentence's citations and support, the
abstention and the emergency categories, all on the default knowledge base. ``compare``
prints how many differ, shows the first differences, and exits 1 when any does.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def visible(answer) -> dict:
    """What a user (or a page) can see of an answer, scores rounded past float noise."""
    return {
        "text": answer.text,
        "abstained": answer.abstained,
        "emergency": answer.emergency,
        "categories": list(answer.emergency_categories),
        "sources": [[s.n, s.passage_id, round(s.score, 6)] for s in answer.sources],
        "sentences": [[c.sentence, list(c.cited), bool(c.supported), bool(c.claim), round(float(c.support), 4)]
                      for c in answer.citations],
        "withheld": [w["passage_id"] for w in answer.withheld],
    }


def dump(out: Path, n: int, data: str) -> None:
    import gaokerena_rag
    from gaokerena_rag.assistant import GaokerenaAssistant
    from index_build.default_kb import KnowledgeBase
    from index_build.presets import mf3qa_pairs

    print(f"code: {Path(gaokerena_rag.__file__).parent}", file=sys.stderr)
    kb = KnowledgeBase(data=data)
    kb.ensure(progress=False)
    questions = [q for q, _a, _s in mf3qa_pairs(data, "dev")[:n]]
    questions += json.loads((ROOT / "training/data/out_of_domain_fa.json").read_text("utf-8"))["questions"]
    assistant = GaokerenaAssistant.from_index(kb.index_path)
    with out.open("w", encoding="utf-8") as fh:
        for i, q in enumerate(questions):
            fh.write(json.dumps({"i": i, "question": q, **visible(assistant.ask(q))}, ensure_ascii=False) + "\n")
    print(f"wrote {len(questions)} answers to {out}", file=sys.stderr)


def compare(before: Path, after: Path, section: str | None = None) -> int:
    a = [json.loads(line) for line in before.open(encoding="utf-8")]
    b = [json.loads(line) for line in after.open(encoding="utf-8")]
    if len(a) != len(b):
        print(f"{before}: {len(a)} answers, {after}: {len(b)}")
        return 1
    differ = [(x, y) for x, y in zip(a, b) if x != y]
    for x, y in differ[:5]:
        fields = [k for k in x if x[k] != y.get(k)]
        print(f"answer {x['i']} differs in {fields}: {x['question'][:80]!r}")
        for k in fields[:2]:
            print(f"  before {k}: {json.dumps(x[k], ensure_ascii=False)[:300]}")
            print(f"  after  {k}: {json.dumps(y[k], ensure_ascii=False)[:300]}")
    summary = (f"{len(a) - len(differ)}/{len(a)} answers identical "
               f"({sum(not x['abstained'] for x in a)} answered, {sum(x['abstained'] for x in a)} abstained, "
               f"{sum(bool(x['emergency']) for x in a)} with an emergency notice)")
    print(summary)
    if section:
        from benchmarks.common import machine, write_section

        write_section("pipeline-identity", f"## Refactor proof: {section}\n\nMachine: {machine()}. Written by "
                      f"`benchmarks/pipeline_identity.py compare`: text, sources (passage ids, fused scores), "
                      f"citations, support, abstention and emergency categories compared field by field.\n\n"
                      f"- {summary}.")
    return 1 if differ else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("dump")
    d.add_argument("out", type=Path)
    d.add_argument("--n", type=int, default=300, help="MF3QA dev questions 1..n")
    d.add_argument("--data", default=str(ROOT.parent / "shared/data/mf3qa"))
    c = sub.add_parser("compare")
    c.add_argument("before", type=Path)
    c.add_argument("after", type=Path)
    c.add_argument("--section", help="also write the result into BENCHMARKS.md under this title")
    args = ap.parse_args()
    if args.cmd == "dump":
        dump(args.out, args.n, args.data)
        return 0
    return compare(args.before, args.after, args.section)


if __name__ == "__main__":
    sys.exit(main())
