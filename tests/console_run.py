"""Run the `gaokerena` console script as a user runs it: in a subprocess."""

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(sys.executable).parent / "gaokerena"


def run(*args, env=None, check=True, cwd=None, timeout=300):
    cmd = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "gaokerena_rag.cli"]
    proc = subprocess.run(cmd + list(args), capture_output=True, text=True, env={**os.environ, **(env or {})},
                          timeout=timeout, cwd=cwd)
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}\nstdout: {proc.stdout}\nstderr: {proc.stderr}")
    return proc
