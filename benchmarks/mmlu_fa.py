"""Persian MMLU (medical) through ``gaokerena eval mmlu-fa`` on the real data path.

With ``--model`` (a hub id or folder, ``--adapter`` repeatable, ``--index`` for passages)
it scores that model; a GPU is needed for 8B models. Without it, the harness is checked
on this machine with a model whose answer is known in advance: a tiny Cohere model
(built by the tests' helper) taught to continue every prompt with `` 3`` must score
exactly the share of questions whose answer is 3, per subject and overall, computed
here straight from the files.

    python benchmarks/mmlu_fa.py [--data ../shared/data/mmlu_fa] [--model ID_OR_PATH ...]

Writes the ``mmlu-fa`` section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from benchmarks.common import machine, write_section  # noqa: E402
from training.mmlu import load_mmlu_fa, prompt  # noqa: E402


def constant_model(folder: Path, data: Path) -> Path:
    from tiny_lm import build_tiny_cohere, teach_completion

    questions = load_mmlu_fa(data)
    texts = [prompt(q) for q in questions[::20]]
    model = build_tiny_cohere(folder / "always-3", texts)
    return teach_completion(model, texts[:4], " 3", steps=40)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=str(ROOT.parent / "shared/data/mmlu_fa"))
    ap.add_argument("--model")
    ap.add_argument("--adapter", action="append", default=[])
    ap.add_argument("--index")
    ap.add_argument("--chat", action="store_true")
    args = ap.parse_args()
    data = Path(args.data)
    with tempfile.TemporaryDirectory() as tmp:
        model = args.model or str(constant_model(Path(tmp), data))
        out = Path(tmp) / "result.json"
        cmd = [sys.executable, "-m", "gaokerena_rag.cli", "eval", "mmlu-fa", "--model", model, "--data", str(data),
               "--json", str(out)] + sum((["--adapter", a] for a in args.adapter), [])
        cmd += (["--index", args.index] if args.index else []) + (["--chat"] if args.chat else [])
        t0 = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
        seconds = time.perf_counter() - t0
        if done.returncode:
            raise SystemExit(done.stderr[-3000:])
        result = json.loads(out.read_text())
    body = ["## Persian MMLU, medical subjects (`gaokerena eval mmlu-fa`)", "",
            f"Written by `benchmarks/mmlu_fa.py` on {machine()}; data: `{data.name}/` "
            f"({len(result['predictions'])} questions); {seconds:.0f} s end to end.", "", done.stdout.strip()]
    if not args.model:
        questions = load_mmlu_fa(data)
        share = {}
        for q in questions:
            c, t = share.get(q.subject, (0, 0))
            share[q.subject] = (c + (q.answer == 2), t + 1)
        expected = {s: 100 * c / t for s, (c, t) in share.items()}
        overall = 100 * sum(c for c, _t in share.values()) / len(questions)
        got = {s: 100 * c / t for s, (c, t) in result["per_subject"].items()}
        exact = all(abs(got[s] - expected[s]) < 1e-9 for s in expected) and abs(result["average"] - overall) < 1e-9
        body += ["", "Harness check: the model is a tiny Cohere model taught to answer `3` to every prompt, so it "
                 f"must score the share of questions whose answer is 3: {overall:.2f}% overall ("
                 + ", ".join(f"{s} {v:.2f}" for s, v in expected.items()) + "). "
                 f"Predicted 3 on {sum(p == 2 for p in result['predictions'])}/{len(questions)} questions; scores "
                 f"{'equal those shares exactly' if exact else 'DIFFER from those shares'}. The 8B models need a GPU: "
                 "`python benchmarks/mmlu_fa.py --model CohereForAI/aya-expanse-8b` (add `--adapter` for Gaokerena's)."]
    write_section("mmlu-fa", "\n".join(body))
    print("\n".join(body))


if __name__ == "__main__":
    main()
