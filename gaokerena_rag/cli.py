"""The ``gaokerena`` command: the library's own commands, plus those other packages register.

``index_build`` (``gaokerena index``), ``training`` (``train``, ``eval``) and ``ui`` add theirs
through the ``gaokerena.commands`` entry point (``add_commands(subparsers)``), so this
package imports nothing from them. Heavy imports happen inside each command, so
``gaokerena --help`` stays fast.
"""

from __future__ import annotations

import argparse
import os
import sys
from importlib.metadata import entry_points

COMMANDS = "gaokerena.commands"


def build_parser() -> argparse.ArgumentParser:
    from gaokerena_rag import console

    parser = argparse.ArgumentParser(prog="gaokerena", description="Offline Persian medical retrieval and answers.")
    sub = parser.add_subparsers(dest="command", required=True)
    console.add_commands(sub)
    for found in sorted(entry_points(group=COMMANDS), key=lambda e: e.name):
        found.load()(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    args = build_parser().parse_args(argv)
    from gaokerena_rag.index import IndexError_

    try:
        return args.func(args)
    except (IndexError_, FileNotFoundError, ValueError) as exc:  # a CorpusError is a ValueError
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; the index is unchanged", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader stopped early (| head): not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
