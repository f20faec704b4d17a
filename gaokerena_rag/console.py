"""The ``gaokerena ask`` and ``gaokerena chat`` commands, and how an ``Answer`` reads in a terminal.

The assistant is configured from ``--config FILE.yaml`` (an ``AssistantConfig``), then
from the flags given (backend, model, adapters, endpoint, k). Without ``--index`` the
default MF3QA knowledge base is used, built on first use.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from typing import Callable

from .assistant import Answer, GaokerenaAssistant
from .config import AssistantConfig


def add_commands(sub, index_args: Callable[[argparse.ArgumentParser], None]) -> None:
    a = sub.add_parser("ask", help="answer a Persian medical question with numbered, checked sources")
    a.add_argument("question")
    assistant_args(a, index_args)
    a.add_argument("--json", action="store_true", help="print the whole Answer as JSON")
    a.add_argument("--stream", action="store_true", help="print the answer as it is written")
    a.set_defaults(func=cmd_ask)

    c = sub.add_parser("chat", help="an interactive conversation (empty line or Ctrl-D ends it)")
    assistant_args(c, index_args)
    c.set_defaults(func=cmd_chat)


def assistant_args(p: argparse.ArgumentParser, index_args) -> None:
    index_args(p)
    p.add_argument("--config", help="an AssistantConfig YAML file")
    p.add_argument("--backend", choices=("extractive", "transformers", "openai"),
                   help="who writes the answer (default: the config's, else extractive)")
    p.add_argument("--model", help="transformers: hub id or local folder; openai: the served model name")
    p.add_argument("--adapter", action="append", default=[], help="transformers: a PEFT LoRA adapter (repeatable)")
    p.add_argument("--base-url", help="openai: the endpoint, e.g. http://127.0.0.1:8000/v1")
    p.add_argument("--device", help="transformers: cpu, cuda, cuda:1 …")
    p.add_argument("--k", type=int, help="number of sources (default 5)")


def build_config(args) -> AssistantConfig:
    config = AssistantConfig.from_yaml(args.config) if args.config else AssistantConfig()
    gen = config.generator
    if args.backend:
        gen.backend = args.backend
    options = {"transformers": gen.transformers, "openai": gen.openai}.get(gen.backend)
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
        config.k = args.k
        config.retrieval = replace(config.retrieval, k=args.k)
    if args.threads:
        config.embedder_threads = args.threads
    if getattr(args, "allow_download", False):
        config.retrieval = replace(config.retrieval, allow_download=True)
    return config


def open_assistant(args) -> GaokerenaAssistant:
    from .cli import resolve_index

    return GaokerenaAssistant.from_index(resolve_index(args), config=build_config(args))


def render_sources(answer: Answer, width: int = 300) -> str:
    lines = ["منابع:"]
    for s in answer.sources:
        where = "; ".join(x for x in (s.source, f"doc {s.doc_id}", s.url) if x)
        passage = " ".join(s.passage.split())
        lines.append(f"[{s.n}] {s.title or s.doc_id}  ({where})")
        lines.append(f"    {passage[:width]}{'…' if len(passage) > width else ''}")
    return "\n".join(lines)


def render_footer(answer: Answer) -> str:
    withheld = (f"; {len(answer.withheld)} retrieved source(s) withheld: they hold an instruction to the assistant"
                if answer.withheld else "")
    if answer.abstained:
        return f"(abstained: {answer.abstain_reason}; {answer.timings.get('total_s', 0):.2f} s{withheld})"
    return (f"(grounding {answer.grounding:.2f}; {answer.model}; "
            f"{answer.timings.get('total_s', 0):.2f} s{withheld})")


def _answer(assistant: GaokerenaAssistant, question: str, stream: bool, history=None) -> Answer:
    if not stream:
        answer = assistant.ask(question, history=history)
        print(answer.text)
        return answer
    answer = None
    for piece in assistant.stream(question, history=history):
        if isinstance(piece, Answer):
            answer = piece
        else:
            print(piece, end="", flush=True)
    print()
    assert answer is not None
    return answer


def cmd_ask(args) -> int:
    assistant = open_assistant(args)
    if args.json:
        print(json.dumps(assistant.ask(args.question).to_dict(), ensure_ascii=False, indent=2))
        return 0
    answer = _answer(assistant, args.question, args.stream)
    print()
    print(render_sources(answer))
    print(render_footer(answer), file=sys.stderr)
    return 0


def cmd_chat(args) -> int:
    assistant = open_assistant(args)
    history: list[dict] = []
    print("پرسش خود را بنویسید (سطر خالی یا Ctrl-D برای پایان).")
    while True:
        try:
            question = input("› ").strip()
        except EOFError:
            break
        if not question:
            break
        answer = _answer(assistant, question, True, history)
        print(render_sources(answer))
        history += [{"role": "user", "content": question}, {"role": "assistant", "content": answer.text}]
    return 0
