"""The clinicians' page under load: time to the first streamed piece and to the whole answer.

Starts ``gaokerena ui`` (extractive backend) over the MF3QA knowledge base (the README's
default, 18,609 passages) as users start it, then asks MF3QA dev questions through
``gradio_client`` (what a client sees: queue, SSE stream, JSON), first one user at a time,
then 20 users at once, each asking its next question as soon as its answer is complete.
The clients run on the same 2-core machine as the server.

    python benchmarks/ui_latency.py [--data ../shared/data/mf3qa] [--n 200] [--users 20]

Writes the ``ui-latency`` section of BENCHMARKS.md. Targets (issue 6): first piece <= 0.5 s
p95 with 1 user; whole answer <= 2 s p95 with 20 users at once.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from gradio_client import Client  # noqa: E402

from benchmarks.common import machine, table, write_section  # noqa: E402
from index_build.default_kb import KnowledgeBase  # noqa: E402
from index_build.presets import mf3qa_pairs  # noqa: E402
from servers import wait_until_serving  # noqa: E402
from training.mf3qa_eval import percentile  # noqa: E402


def start_server(index: Path, port: int, concurrency: int, threads: int, log: Path) -> subprocess.Popen:
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "gaokerena_rag.cli", "ui", "--index", str(index), "--port",
                                 str(port), "--concurrency", str(concurrency), "--threads", str(threads)],
                                stdout=out, stderr=subprocess.STDOUT)
    wait_until_serving(f"http://127.0.0.1:{port}/", proc, log, seconds=300)
    return proc


def _has_text(update) -> bool:
    msg = update[0][-1] if update and update[0] else None
    content = msg["content"] if msg else ""
    text = "".join(p.get("text", "") for p in content) if isinstance(content, list) else (content or "")
    return bool(msg and msg["role"] == "assistant" and text)


def ask(client: Client, question: str, poll: float = 0.005) -> tuple[float, float, bool]:
    """(seconds to the first piece of answer text, seconds to the whole answer, answer complete).

    ``gradio_client``'s Job iterator re-checks every 1 ms; 20 such loops would take the server's
    CPU, so this looks at the outputs every ``poll`` seconds until the first piece, then waits."""
    t0 = time.perf_counter()
    job = client.submit(question, [], 5, "extractive", False, api_name="/ask")
    first = None
    while first is None and not job.done():
        if any(_has_text(o) for o in job.outputs()):
            first = time.perf_counter() - t0
            break
        time.sleep(poll)
    final = job.result()
    total = time.perf_counter() - t0
    complete = bool(final[5]) and "این پاسخ جای معاینه و نظر پزشک را نمی‌گیرد." in final[5]
    return (first if first is not None else total), total, complete


def cpu_seconds(pid: int | None = None) -> float:
    """User + system CPU seconds of a process (this one by default)."""
    fields = Path(f"/proc/{pid or os.getpid()}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_users(url: str, questions: list[str], users: int, server_pid: int) -> dict:
    clients = [Client(url, verbose=False) for _ in range(users)]
    share = [questions[i::users] for i in range(users)]
    cpu0 = (cpu_seconds(server_pid), cpu_seconds())
    t0 = time.perf_counter()
    with ThreadPoolExecutor(users) as pool:
        results = [r for rs in pool.map(lambda i: [ask(clients[i], q) for q in share[i]], range(users)) for r in rs]
    wall = time.perf_counter() - t0
    server_cpu, client_cpu = cpu_seconds(server_pid) - cpu0[0], cpu_seconds() - cpu0[1]
    firsts, totals, ok = zip(*results)
    return {"n": len(results), "errors": len(results) - sum(ok), "wall": wall,
            "server_ms": 1000 * server_cpu / len(results), "client_ms": 1000 * client_cpu / len(results),
            "first_p50": percentile(firsts, 50), "first_p95": percentile(firsts, 95),
            "total_p50": percentile(totals, 50), "total_p95": percentile(totals, 95)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=str(ROOT.parent / "shared/data/mf3qa"))
    ap.add_argument("--n", type=int, default=200, help="questions per run")
    ap.add_argument("--users", type=int, default=20)
    ap.add_argument("--concurrency", type=int, default=4, help="the server's --concurrency")
    ap.add_argument("--threads", type=int, default=1, help="the server's --threads (query embedding)")
    ap.add_argument("--port", type=int, default=7899)
    args = ap.parse_args()

    kb = KnowledgeBase(data=args.data)
    kb.ensure(progress=False)
    questions = [q for q, _a, _s in mf3qa_pairs(args.data, "dev")][: args.n]
    log = ROOT / "benchmarks/.cache/ui-server.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    proc = start_server(kb.index_path, args.port, args.concurrency, args.threads, log)
    url = f"http://127.0.0.1:{args.port}/"
    try:
        warm = Client(url, verbose=False)
        for q in questions[:5]:
            ask(warm, q)
        rows = {u: run_users(url, questions, u, proc.pid) for u in (1, args.users)}
    finally:
        proc.terminate()
        proc.wait(timeout=30)

    from gaokerena_rag.index import read_manifest

    passages = read_manifest(kb.index_path)["counts"]["passages"]
    one, many = rows[1], rows[args.users]
    body = [
        "## The clinicians' page under load (`gaokerena ui`)",
        "",
        f"Machine: {machine()}. Written by `benchmarks/ui_latency.py`: `gaokerena ui` (extractive backend, "
        f"server `--concurrency {args.concurrency} --threads {args.threads}`) over the MF3QA knowledge base ({passages:,} passages), asked "
        f"{args.n} MF3QA dev questions through `gradio_client` (queue, SSE stream and JSON included), first by one "
        f"user, then by {args.users} users at once, each asking again as soon as its answer is complete. The clients "
        "share the 2 cores with the server (their CPU is in the last column). First piece: the first update holding "
        "answer text, looked for every 5 ms (`gradio_client`'s own iterator re-checks every 1 ms per job, which with "
        "20 jobs took CPU from the server).",
        "",
        table([(f"{u} user{'s' if u > 1 else ''}", r["n"], r["errors"], r["first_p50"], r["first_p95"],
                r["total_p50"], r["total_p95"], r["n"] / r["wall"], f"{r['server_ms']:.0f} / {r['client_ms']:.0f}")
               for u, r in rows.items()],
              ["users", "questions", "errors", "first piece p50 s", "first piece p95 s", "whole answer p50 s",
               "whole answer p95 s", "answers/s", "CPU ms per answer: server / clients"]),
        "",
        f"- First piece p95 with 1 user: {one['first_p95']:.3f} s (target <= 0.5 s: "
        f"{'met' if one['first_p95'] <= 0.5 else 'not met'}).",
        f"- Whole answer p95 with {args.users} users: {many['total_p95']:.3f} s (target <= 2 s: "
        f"{'met' if many['total_p95'] <= 2 else 'not met'}); {many['errors']} incomplete answers.",
    ]
    write_section("ui-latency", "\n".join(body))
    print("\n".join(body))


if __name__ == "__main__":
    main()
