"""``gaokerena train cpt|sft|retriever|merge|presets``; also ``python -m training.cli`` for ``accelerate launch``.

A run is a recipe: ``--preset NAME`` (``training/recipes/NAME.yaml``) or ``--config FILE``,
then ``KEY=VALUE`` overrides (``train.lr=1e-4 out_dir=runs/x``) and a few shortcuts
(``--base``, ``--data``, ``--out``, ``--max-steps``). Heavy imports happen only when a run starts.

    gaokerena train cpt --preset gaokerena-v-cpt
    gaokerena train retriever --preset retriever-mf3qa
    accelerate launch --config_file training/accelerate/ddp.yaml -m training.cli cpt --preset gaokerena-v-cpt
"""

from __future__ import annotations

import argparse
import json
import sys


def add_commands(sub) -> None:
    train = sub.add_parser("train", help="LoRA continued pre-training, instruction tuning, the retriever")
    kinds = train.add_subparsers(dest="train_command", required=True)
    for kind, text in (("cpt", "continued pre-training with LoRA (gaokerena-v-cpt)"),
                       ("sft", "instruction tuning with LoRA (gaokerena-v-sft, gaokerena-rag-sft)"),
                       ("retriever", "fine-tune the embedder on MF3QA question → answer pairs (retriever-mf3qa)")):
        p = kinds.add_parser(kind, help=text)
        p.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="recipe settings, e.g. train.lr=1e-4")
        which = p.add_mutually_exclusive_group(required=True)
        which.add_argument("--preset", help="a preset name (see: gaokerena train presets)")
        which.add_argument("--config", help="a recipe YAML file")
        p.add_argument("--base", help="the model to start from (model.base)")
        p.add_argument("--data", help="the training data (corpus input for cpt; MF3QA folder or question/answer "
                                      "pairs for sft and retriever)")
        p.add_argument("--out", help="output folder (out_dir)")
        p.add_argument("--max-steps", type=int, help="stop after N optimizer steps")
        p.add_argument("--no-resume", action="store_true", help="start afresh even if checkpoints exist")
        p.set_defaults(func=cmd_train, kind=kind)

    m = kinds.add_parser("merge", help="fold a LoRA adapter into its base model (safetensors)")
    m.add_argument("--base", required=True)
    m.add_argument("--adapter", required=True)
    m.add_argument("--out", required=True)
    m.add_argument("--dtype", default="bfloat16", choices=("bfloat16", "float16", "float32"))
    m.set_defaults(func=cmd_merge)

    lp = kinds.add_parser("presets", help="list the recipe presets")
    lp.set_defaults(func=cmd_presets)


def recipe_from_args(args):
    from .recipes import load_recipe

    overrides = list(args.overrides)
    if args.base:
        overrides.append(("base=" if args.kind == "retriever" else "model.base=") + args.base)
    if args.data:
        overrides.append(("corpus=" + json.dumps([args.data])) if args.kind == "cpt" else "data=" + args.data)
    if args.out:
        overrides.append("out_dir=" + args.out)
    if args.max_steps is not None:
        overrides.append(("max_steps=" if args.kind == "retriever" else "train.max_steps=") + str(args.max_steps))
    return load_recipe(args.preset or args.config, overrides, expect=args.kind)


def cmd_train(args) -> int:
    from .models import TrainingError

    recipe = recipe_from_args(args)
    try:
        if args.kind == "cpt":
            from .cpt import run_cpt

            report = run_cpt(recipe, resume=not args.no_resume)
        elif recipe.kind == "engine-retriever":
            from .retriever_engine import run_engine_retriever

            report = run_engine_retriever(recipe, resume=not args.no_resume)
        elif args.kind == "retriever":
            from .retriever import run_retriever

            report = run_retriever(recipe, resume=not args.no_resume)
        else:
            from .sft import run_sft

            report = run_sft(recipe, resume=not args.no_resume)
    except TrainingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(report.summary())
    return 0


def cmd_merge(args) -> int:
    from pathlib import Path

    from .models import TrainingError, merge_adapter
    from .recipes import ModelSpec

    try:
        out = merge_adapter(ModelSpec(base=args.base, dtype=args.dtype), Path(args.adapter), Path(args.out))
    except TrainingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"merged model written to {out}")
    return 0


def cmd_presets(args) -> int:
    from .recipes import load_recipe, preset_names

    for name in preset_names():
        recipe = load_recipe(name)
        print(f"{name:22s} {recipe.kind:10s} → {recipe.out_dir}")
    return 0


def main(argv: list[str] | None = None) -> int:
    import os

    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    parser = argparse.ArgumentParser(prog="python -m training.cli", description="gaokerena training runs")
    add_commands(parser.add_subparsers(dest="command", required=True))
    argv = ["train", *(sys.argv[1:] if argv is None else argv)]
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
