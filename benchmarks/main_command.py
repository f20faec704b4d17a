"""Time the README's main command as a new user meets it: first run (engine compile and
knowledge-base build included, empty cache) and later runs (index current, loaded from disk).
The first run's output goes to a pipe, as in a log: its lines are counted, and each remaining
time the build announced is compared with the time it really had left.

    python benchmarks/main_command.py [--data ../shared/data/mf3qa]

Writes the ``main-command`` section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import machine, run_measured, table, write_section  # noqa: E402

QUESTION = "سلام دکتر، چند روز است سرم یک طرفه درد می‌کند و از نور اذیت می‌شوم. چه کنم؟"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared/data/mf3qa"))
    ap.add_argument("--later-runs", type=int, default=3)
    ap.add_argument("--keep", help="move the knowledge base built by the first run here afterwards")
    args = ap.parse_args()
    script = Path(sys.executable).parent / "gaokerena"
    cmd = [str(script) if script.exists() else sys.executable, *([] if script.exists() else ["-m", "gaokerena_rag.cli"]),
           "retrieve", QUESTION, "--data", args.data]
    cache = Path(tempfile.mkdtemp(prefix="gaokerena-cache-"))
    env = {"GAOKERENA_CACHE": str(cache), "GAOKERENA_INDEX": str(cache / "kb-mf3qa"), "LANG": "C.UTF-8",
           "LC_ALL": ""}
    try:
        rows = []
        stamps: list[tuple[float, str]] = []
        seconds, peak, out = run_measured(cmd, env, stamps=stamps)
        assert "Built the default knowledge base" in out, out[-2000:]
        rows.append(("first run (compile engine + assemble the retriever + build 18,226 consultations + retrieve)",
                     f"{seconds:.1f}",
                     f"{peak / 2**30:.2f}"))
        print(out[-1500:])
        for i in range(args.later_runs):
            seconds, peak, out = run_measured(cmd, env)
            assert "knowledge base" not in out
            rows.append((f"later run {i + 1}", f"{seconds:.1f}", f"{peak / 2**30:.2f}"))
        size = sum(p.stat().st_size for p in (cache / "kb-mf3qa").rglob("*") if p.is_file())
        embedder = json.loads((cache / "kb-mf3qa" / "manifest.json").read_text("utf-8"))["embedder"]["spec"]
        if args.keep:
            shutil.rmtree(args.keep, ignore_errors=True)
            shutil.move(str(cache / "kb-mf3qa"), args.keep)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    body = [f"Machine: {machine()}. Command: `gaokerena retrieve \"…\" --data {Path(args.data).name}` with an "
            f"empty cache (`GAOKERENA_CACHE`); embedder `{embedder}` (the default; the first run also assembles "
            f"its model file into the cache); index size {size / 2**20:.0f} MiB.", "",
            table(rows, ["run", "wall s", "peak RSS GiB"]), "", *first_run_output(stamps)]
    write_section("main-command", "## The README's main command\n\n" + "\n".join(body))
    for r in rows:
        print(r)


def first_run_output(stamps: list[tuple[float, str]]) -> list[str]:
    """What the first run wrote into the pipe, and how its announced remaining times held."""
    ended = next(t for t, line in stamps if re.match(r"knowledge base: [\d,]+ passages embedded in", line))
    progress = [line for _t, line in stamps if line.startswith("knowledge base:")]
    rows = []
    for t, line in stamps:
        said = re.search(r"(?:about (\d+) min|(\d+(?:\.\d+)?) s) left", line)
        if said and line.startswith("knowledge base:"):
            left = float(said.group(1)) * 60 if said.group(1) else float(said.group(2))
            rows.append((f"{t:.0f}", line.split(": ", 1)[1][:90], f"{left / 60:.1f}", f"{(ended - t) / 60:.1f}"))
    lines = [f"Its output into a pipe (as in a log): {len(stamps)} lines in all: the announcement, {len(progress)} "
             "progress lines, the closing lines and the answer; no carriage-return updates. The remaining time "
             "the build announced, against what it really had left:", "",
             table(rows, ["at s", "line", "announced min left", "really left min"])]
    return lines


if __name__ == "__main__":
    main()
