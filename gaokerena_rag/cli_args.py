"""What the commands that answer share: the index flags, the default knowledge base, the
assistant flags and the assistant they configure.

The default knowledge base (used when no ``--index`` is given) is found through the
``gaokerena.knowledge_bases`` entry point named ``default`` (``index_build`` provides it), so
the library imports nothing from the packages above it.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from importlib.metadata import entry_points
from pathlib import Path

from .assistant import GaokerenaAssistant
from .config import AssistantConfig


def index_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--index", help="index folder (default: the MF3QA knowledge base, built on first use)")
    p.add_argument("--data", help="MF3QA folder for the default knowledge base (default: ../shared/data/mf3qa)")
    p.add_argument("--threads", type=int, help="embedding threads for queries (default: 2, or 1 on one core)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--rebuild", action="store_true",
                   help="build the default knowledge base again from scratch (its folder is replaced at the end)")
    p.add_argument("--allow-download", action="store_true",
                   help="let the embedder an index names be downloaded from the hub (off: this machine only)")


def resolve_index(args) -> Path:
    """``--index``, or the default knowledge base (built on first use by the package that provides it)."""
    if args.index is not None:
        if args.rebuild:
            raise ValueError("--rebuild applies to the default knowledge base; rebuild your own index with "
                             "'gaokerena index build --fresh'")
        return Path(args.index)
    found = entry_points(group="gaokerena.knowledge_bases", name="default")
    if not found:
        raise ValueError("no default knowledge base is installed here: pass --index DIR (an index built with "
                         "'gaokerena index build')")
    # a build says what it builds before, and where it put it after (on stderr)
    path, _report = next(iter(found)).load()(data=args.data, progress=not args.quiet, rebuild=args.rebuild)
    return path


def open_retriever(args):
    from .retrieval import HybridRetriever, RetrievalConfig

    config = RetrievalConfig(k=args.k, mode=args.mode, allow_download=args.allow_download)
    return HybridRetriever.from_index(resolve_index(args), config=config, threads=args.threads)


def assistant_args(p: argparse.ArgumentParser) -> None:
    index_args(p)
    p.add_argument("--config", help="an AssistantConfig YAML file")
    p.add_argument("--backend", choices=("extractive", "transformers", "openai"),
                   help="who writes the answer (default: the config's, else extractive)")
    p.add_argument("--model", help="transformers: hub id, local folder or packaged name (gemma-3-270m); "
                                   "openai: the served model name")
    p.add_argument("--adapter", action="append", default=[], help="transformers: a PEFT LoRA adapter (repeatable)")
    p.add_argument("--base-url", help="openai: the endpoint, e.g. http://127.0.0.1:8000/v1")
    p.add_argument("--device", help="transformers: cpu, cuda, cuda:1 …")
    p.add_argument("--k", type=int, help="number of sources (default 5)")
    p.add_argument("--unsupported", choices=("drop", "mark", "keep"),
                   help="a written sentence its sources do not support: drop it (default), mark it, or keep it")


def build_config(args) -> AssistantConfig:
    config = AssistantConfig.from_yaml(args.config) if args.config else AssistantConfig()
    gen = config.generator
    if args.backend:
        gen.backend = args.backend
    options = gen.options
    given = {"--model": ("model", args.model), "--adapter": ("adapters", args.adapter or None),
             "--base-url": ("base_url", args.base_url), "--device": ("device", args.device)}
    allowed = {"transformers": {"model", "adapters", "device"}, "openai": {"model", "base_url"}}.get(gen.backend, set())
    for flag, (name, value) in given.items():
        if value is None:
            continue
        if name not in allowed:
            raise ValueError(f"{flag} does not apply to the {gen.backend} backend")
        options[name] = value
    if args.k:
        config.retrieval = replace(config.retrieval, k=args.k)
    if getattr(args, "unsupported", None):
        config.unsupported = args.unsupported
    if args.threads:
        config.embedder_threads = args.threads
    if getattr(args, "allow_download", False):
        config.retrieval = replace(config.retrieval, allow_download=True)
    return config


def open_assistant(args) -> GaokerenaAssistant:
    return GaokerenaAssistant.from_index(resolve_index(args), config=build_config(args))
