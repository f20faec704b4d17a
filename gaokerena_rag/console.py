"""The library's commands: ``gaokerena retrieve``, ``ask`` and ``chat``, and how an ``Answer``
reads in a terminal.

The assistant is configured from ``--config FILE.yaml`` (an ``AssistantConfig``), then
from the flags given (backend, model, adapters, endpoint, k; ``cli_args``). Without
``--index`` the default MF3QA knowledge base is used, built on first use.
"""

from __future__ import annotations

import json
import sys

from .answer import Answer
from .assistant import GaokerenaAssistant
from .cli_args import assistant_args, index_args, open_assistant, open_retriever


def add_commands(sub) -> None:
    r = sub.add_parser("retrieve", help="find the passages for a question")
    r.add_argument("question", nargs="?")
    index_args(r)
    r.add_argument("--k", type=int, default=10)
    r.add_argument("--mode", choices=("hybrid", "dense", "bm25"), default="hybrid")
    r.add_argument("--json", action="store_true")
    r.add_argument("--queries", help="batch mode: JSONL of {id, query}")
    r.add_argument("--out", help="batch mode: JSONL output")
    r.set_defaults(func=cmd_retrieve)

    a = sub.add_parser("ask", help="answer a Persian medical question with numbered, checked sources")
    a.add_argument("question")
    assistant_args(a)
    a.add_argument("--json", action="store_true", help="print the whole Answer as JSON")
    a.add_argument("--stream", action="store_true", help="print the answer as it is written")
    a.set_defaults(func=cmd_ask)

    c = sub.add_parser("chat", help="an interactive conversation (empty line or Ctrl-D ends it)")
    assistant_args(c)
    c.set_defaults(func=cmd_chat)


def cmd_retrieve(args) -> int:
    if (args.question is None) == (args.queries is None):
        print("give a question, or --queries FILE.jsonl --out FILE.jsonl", file=sys.stderr)
        return 2
    retriever = open_retriever(args)
    if args.queries:
        return _retrieve_batch(retriever, args)
    results = retriever.retrieve(args.question, args.k)
    if args.json:
        print(json.dumps({"query": args.question, "results": [r.to_dict() for r in results]},
                         ensure_ascii=False, indent=2))
        return 0
    if not results:
        print("no passage matches this question")
    for r in results:
        text = " ".join(r.text.split())
        print(f"[{r.rank}] {r.title or r.doc_id}  ({r.source or '-'}; doc {r.doc_id}; score {r.score:.4f})")
        print(f"    {text[:400]}{'…' if len(text) > 400 else ''}")
    return 0


def _retrieve_batch(retriever, args) -> int:
    if not args.out:
        print("--queries needs --out FILE.jsonl", file=sys.stderr)
        return 2
    rows = []
    with open(args.queries, encoding="utf-8-sig") as fh:
        for n, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                rows.append((row["id"], row["query"]))
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                print(f"{args.queries}, row {n}: each line must be {{\"id\", \"query\"}} ({exc})", file=sys.stderr)
                return 2
    from tqdm.auto import tqdm

    with open(args.out, "w", encoding="utf-8") as out:
        for i in tqdm(range(0, len(rows), 64), disable=args.quiet, desc="retrieving"):
            chunk = rows[i : i + 64]
            for (qid, _q), res in zip(chunk, retriever.retrieve_many([q for _, q in chunk], args.k)):
                out.write(json.dumps({"id": qid, "results": [r.to_dict() for r in res]}, ensure_ascii=False) + "\n")
    print(f"wrote {len(rows)} result lines to {args.out}")
    return 0


def render_sources(answer: Answer, width: int = 300) -> str:
    """The sources as a terminal shows them: a consultation as one (the patient's question, the doctor's
    reply, the site), never as if written for this user."""
    lines = ["منابع:"]
    for s in answer.sources:
        parts = s.consultation
        where = "; ".join(x for x in (s.source, s.url) if x) or s.doc_id
        if parts:
            lines.append(f"[{s.n}] مشاوره‌ی پیشین ({where})")
            lines.append(f"    پرسش بیمار: {_clip(parts[0], width // 2)}")
            lines.append(f"    پاسخ پزشک: {_clip(parts[1], width)}")
        else:
            lines.append(f"[{s.n}] {s.title or s.doc_id}  ({where})")
            lines.append(f"    {_clip(s.text, width)}")
    return "\n".join(lines)


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text[:width] + ("…" if len(text) > width else "")


def render_footer(answer: Answer) -> str:
    """The line under an answer (on stderr): where it comes from, who wrote it and how fast, in plain words."""
    n = len(answer.withheld)
    withheld = (f"; {n} more retrieved source{'s were' if n > 1 else ' was'} not used (about another case or "
                "another question, or with nothing to quote)" if n else "")
    why = f"; no answer given: {answer.abstain_reason}" if answer.abstained else ""
    return f"({answer.summary} — answered by {answer.model} in {answer.timings.get('total_s', 0):.2f} s{why}{withheld})"


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
