"""Shared benchmark helpers: retrieval metrics, process-tree RSS sampling, and writing BENCHMARKS.md sections."""

from __future__ import annotations

import os
import platform
import re
import subprocess
import threading
import time
from datetime import date
from pathlib import Path
from typing import Iterable, Sequence

ROOT = Path(__file__).resolve().parents[1]


def _tree_rss(pid: int) -> int:
    """RSS of ``pid`` and all its descendants (a local Ray's raylet and workers are grandchildren)."""
    try:
        out = subprocess.run(["ps", "-e", "-o", "pid=,ppid=,rss="], capture_output=True, text=True).stdout
    except OSError:
        return 0
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for line in out.splitlines():
        p, pp, r = (int(x) for x in line.split())
        children.setdefault(pp, []).append(p)
        rss[p] = r * 1024
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        total += rss.get(p, 0)
        todo += children.get(p, [])
    return total


def run_measured(cmd: Sequence[str], env: dict | None = None,
                 stamps: list | None = None) -> tuple[float, int, str]:
    """Run a command; return (seconds, peak RSS of it and its children in bytes, output). ``stamps``
    receives (seconds since the start, line) for every line of output as it arrives."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, **(env or {})})
    peak = 0
    out_lines: list[str] = []

    def read() -> None:
        for line in proc.stdout:
            out_lines.append(line)
            if stamps is not None:
                stamps.append((time.perf_counter() - t0, line.rstrip("\n")))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    while proc.poll() is None:
        peak = max(peak, _tree_rss(proc.pid))
        time.sleep(0.2)
    reader.join()
    seconds = time.perf_counter() - t0
    if proc.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{''.join(out_lines)[-3000:]}")
    return seconds, peak, "".join(out_lines)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next((l.split(":", 1)[1].strip() for l in fh if l.startswith("model name")), cpu)
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB RAM, Python {platform.python_version()}, {date.today()}"


def write_section(name: str, body: str, path: Path = ROOT / "BENCHMARKS.md") -> None:
    """Replace (or append) the section between ``<!-- NAME:start -->`` and ``<!-- NAME:end -->``."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    text = path.read_text("utf-8") if path.exists() else "# Benchmarks\n\nEvery section is written by its script in `benchmarks/`.\n"
    block = f"{start}\n{body.rstrip()}\n{end}"
    if start in text:
        text = re.sub(re.escape(start) + r".*?" + re.escape(end), lambda _m: block, text, flags=re.S)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text, "utf-8")


def table(rows: Iterable[Sequence], header: Sequence[str]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        lines.append("| " + " | ".join(f"{c:.3f}" if isinstance(c, float) else str(c) for c in row) + " |")
    return "\n".join(lines)


def dev_halves(data: str, n: int):
    """The default knowledge base (built if needed) and MF3QA dev in halves: ``(kb, half, calib, report)``,
    the first ``n`` of each half (the first half calibrates, the second is reported)."""
    from index_build.default_kb import KnowledgeBase
    from index_build.presets import mf3qa_pairs

    kb = KnowledgeBase(data=data)
    kb.ensure(progress=False)
    dev = mf3qa_pairs(data, "dev")
    half = len(dev) // 2
    return kb, half, dev[:half][:n], dev[half:][:n]
