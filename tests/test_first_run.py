"""The first run as a newcomer meets it: the default knowledge base announced, built under one bar,
and closed with where it lives and how to rebuild it; driven through the console script in a
subprocess, on a terminal (a pseudo-terminal) and into a pipe (a log)."""

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import termios
import time

import pytest

from conftest import write_xlsx
from console_run import SCRIPT, run

QA = [("قند خونم بالاست چه کنم؟", "متفورمین و رژیم کم قند و ورزش."),
      ("سرم یک طرفه درد میکنه", "احتمالا میگرن است؛ استراحت در اتاق تاریک."),
      ("بچه‌ام تب دارد", "استامینوفن به اندازه وزن کودک بدهید.")]


@pytest.fixture
def mf3qa(tmp_path):
    """A folder laid out as the published MF3QA Excel files, with three consultations."""
    folder = tmp_path / "mf3qa"
    folder.mkdir()
    for name, rows in (("drhast_1", QA[:1]), ("drhast_2", QA[1:2]), ("drhast_3", []), ("niniban", QA[2:])):
        write_xlsx(folder / f"{name}.xlsx", ["Question", "Answer"], [list(qa) for qa in rows])
    write_xlsx(folder / "dev.xlsx", ["Question", "Answer", "Source"], [])
    return folder


def on_terminal(args, env, timeout=240) -> str:
    """Run the console script on a 120 x 40 pseudo-terminal; everything it wrote there."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    proc = subprocess.Popen([str(SCRIPT), *args], stdin=slave, stdout=slave, stderr=slave,
                            env={**os.environ, **env}, close_fds=True)
    os.close(slave)
    out, deadline = b"", time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the other end closed
                break
            if not chunk:
                break
            out += chunk
        elif proc.poll() is not None:
            break
    proc.kill()
    proc.wait()
    os.close(master)
    assert proc.returncode == 0, out.decode("utf-8", "replace")[-2000:]
    return out.decode("utf-8")


def test_first_run_on_a_terminal_announces_draws_one_bar_and_says_where_it_is(mf3qa, tmp_path):
    kb = tmp_path / "kb"
    env = {"GAOKERENA_INDEX": str(kb), "LANG": "C.UTF-8", "LC_ALL": "", "LC_MESSAGES": ""}
    screen = on_terminal(["retrieve", "تب بچه", "--data", str(mf3qa), "--k", "1"], env)
    frames = [f.strip() for f in re.split(r"[\r\n]", screen) if f.strip()]
    # first, before anything else: what is built, from what, into where (Persian, then English)
    assert frames[0].startswith("نخستین اجرا: پایگاه دانش پیش‌فرض") and str(kb) in frames[0]
    assert frames[1].startswith("First run: building the default knowledge base once")
    assert f"from the MF3QA train consultations in {mf3qa}, into {kb}" in frames[1]
    # then one bar: every frame drawn before the closing lines is that bar; no library bars
    closing = next(i for i, f in enumerate(frames) if f.startswith("پایگاه دانش پیش‌فرض در"))
    bar = frames[2:closing]
    assert bar and all(f.startswith("knowledge base:") for f in bar), bar
    assert not any(word in screen for word in ("BM25S", "tf-idf", "it/s", "passage/s", "doc/s"))
    stages = [s for s in ("reading", "chunking", "embedding", "bm25-words", "tfidf-char4", "saving")
              if any(s in f for f in bar)]
    assert stages == ["reading", "chunking", "embedding", "bm25-words", "tfidf-char4", "saving"]
    assert re.match(r"knowledge base: 100%\|█+\| \d\d:\d\d, 3 passages embedded$", bar[-1]), bar[-1]
    # after: where it lives, its size, how to build it again; then the answer
    english = frames[closing + 1]
    size = sum(f.stat().st_size for f in kb.rglob("*") if f.is_file()) / 2**20
    assert english.startswith(f"Built the default knowledge base at {kb} ({size:.1f} MiB: 3 consultations, "
                              "3 passages, in ")
    assert 'gaokerena ask --rebuild "…"' in english and "--rebuild" in frames[closing]
    assert frames[closing + 2].startswith("[1] بچه‌ام تب دارد")

    again = on_terminal(["retrieve", "قند خون", "--data", str(mf3qa), "--k", "1"], env)
    assert "knowledge base" not in again and "متفورمین" in again  # later runs: just the answer


def test_first_run_into_a_log_writes_a_few_lines_and_rebuild_starts_over(mf3qa, tmp_path):
    env = {"GAOKERENA_INDEX": str(tmp_path / "kb"), "LANG": "en_US.UTF-8", "LC_ALL": ""}
    first = run("retrieve", "تب بچه", "--data", str(mf3qa), "--k", "1", env=env)
    lines = first.stderr.splitlines()
    assert "\r" not in first.stderr and len(lines) <= 12, lines
    assert lines[0].startswith("First run: building the default knowledge base once")  # an English locale
    assert [l.split(" (")[0] for l in lines[1:7]] == [
        "knowledge base: reading 3 documents", "knowledge base: chunking 3 documents",
        "knowledge base: embedding 3 passages", "knowledge base: bm25-words 3 passages",
        "knowledge base: tfidf-char4 3 passages", "knowledge base: saving"]
    assert lines[7].startswith("knowledge base: 3 passages embedded in ")
    assert lines[8].startswith("Built the default knowledge base at") and len(lines) == 9
    assert "بچه‌ام تب دارد" in first.stdout

    current = run("retrieve", "قند خون", "--data", str(mf3qa), "--k", "1", "--quiet", env=env)
    assert current.stderr == "" and "متفورمین" in current.stdout
    rebuilt = run("retrieve", "قند خون", "--data", str(mf3qa), "--k", "1", "--quiet", "--rebuild", env=env)
    said = rebuilt.stderr.splitlines()
    assert said[0].startswith("Rebuilding the default knowledge base from scratch, as asked")
    assert said[-1].startswith("Built the default knowledge base at") and len(said) == 2  # --quiet: no bar
    own = run("retrieve", "x", "--index", str(tmp_path / "kb"), "--rebuild", check=False)
    assert own.returncode == 1 and "--rebuild applies to the default knowledge base" in own.stderr
