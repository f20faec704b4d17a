"""The command line of a probe recipe (``training/domain.py``, ``training/redflags.py``): every field of
its dataclass as an option (``--max-refused 0.03``), then train, save to ``--out`` and print the report."""

from __future__ import annotations

import argparse
import json
from dataclasses import fields
from typing import Callable


def probe_main(recipe_type: type, train: Callable, description: str, argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=description)
    for f in fields(recipe_type):
        default = getattr(recipe_type, f.name)
        p.add_argument("--" + f.name.replace("_", "-"), type=type(default), default=default)
    args = p.parse_args(argv)
    recipe = recipe_type(**{f.name: getattr(args, f.name) for f in fields(recipe_type)})
    model, report = train(recipe)
    model.save(recipe.out)
    print(json.dumps(report, indent=2))
    print(f"wrote {recipe.out}")
    return 0
