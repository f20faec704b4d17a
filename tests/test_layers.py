"""Dependencies point down: ``gaokerena_rag`` ← ``index_build`` ← ``training``, and ``ui`` over the library.

Read from the source (every import statement, at any depth in a module), so an import
hidden inside a function counts too. The ``gaokerena`` command still reaches every part:
the packages above register their commands through entry points.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# package -> the packages it must never import
FORBIDDEN = {
    "gaokerena_rag": {"index_build", "training", "ui"},
    "index_build": {"training", "ui"},
    "training": {"ui"},
    "ui": {"training"},
}


def imported_packages(file: Path) -> dict[str, int]:
    """Top-level packages a module imports (absolute imports), with the first line of each."""
    found: dict[str, int] = {}
    for node in ast.walk(ast.parse(file.read_text("utf-8"), str(file))):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        for name in names:
            found.setdefault(name.split(".")[0], node.lineno)
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_imports_point_down(package):
    files = sorted((ROOT / package).rglob("*.py"))
    assert files
    wrong = [f"{f.relative_to(ROOT)}:{line} imports {name}" for f in files
             for name, line in imported_packages(f).items() if name in FORBIDDEN[package]]
    assert not wrong, "\n".join(wrong)


def test_the_checker_sees_a_hidden_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from ui.cli import add_commands\n    import training.cli\n", "utf-8")
    assert imported_packages(bad) == {"ui": 2, "training": 3}


def test_the_command_reaches_every_part():
    from gaokerena_rag.cli import build_parser

    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert {"retrieve", "ask", "chat", "index", "train", "eval", "ui"} <= set(sub.choices)
