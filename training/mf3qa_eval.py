"""The MF3QA dev evaluations behind ``gaokerena eval retrieval|answers`` and the benchmark scripts.

* Retrieval: the answers of every train and dev pair are the passages (``train-i``,
  ``dev-j``); each dev question should find its own answer (or a passage with the very
  same text). Recall@1, Recall@k, MRR@k, nDCG@k per retriever mode.
* Answers: dev questions asked of an assistant over an index that holds no dev answer;
  token-F1 and ROUGE-L of the answer (notices and framing removed) against the doctor's
  answer, citations in range, grounding, abstention, ``ask`` latency.
"""

from __future__ import annotations

import math
import re
import time
from collections import Counter
from pathlib import Path
from typing import Sequence

from gaokerena_rag.citations import CITATION
from gaokerena_rag.normalize import normalize
from index_build.presets import mf3qa_pairs


def metrics(ranked: Sequence[Sequence[str]], relevant: Sequence[set[str]], k: int = 10) -> dict[str, float]:
    """Recall@1, Recall@k, MRR@k, nDCG@k (binary relevance, doc-level, first hit counts)."""
    r1 = rk = mrr = ndcg = 0.0
    for docs, rel in zip(ranked, relevant):
        top = list(dict.fromkeys(docs))[:k]
        hits = [i for i, d in enumerate(top) if d in rel]
        if hits:
            rk += 1
            mrr += 1 / (hits[0] + 1)
            r1 += hits[0] == 0
            dcg = sum(1 / math.log2(i + 2) for i in hits)
            idcg = sum(1 / math.log2(i + 2) for i in range(min(len(rel), k)))
            ndcg += dcg / idcg
    n = max(len(ranked), 1)
    return {"recall@1": r1 / n, f"recall@{k}": rk / n, f"mrr@{k}": mrr / n, f"ndcg@{k}": ndcg / n}


def tokens(text: str) -> list[str]:
    return re.findall(r"\w+", normalize(CITATION.sub(" ", text)))


def token_f1(pred: str, ref: str) -> float:
    p, r = tokens(pred), tokens(ref)
    common = sum((Counter(p) & Counter(r)).values())
    if not p or not r or not common:
        return 0.0
    precision, recall = common / len(p), common / len(r)
    return 2 * precision * recall / (precision + recall)


def rouge_l(pred: str, ref: str) -> float:
    p, r = tokens(pred), tokens(ref)
    if not p or not r:
        return 0.0
    prev = [0] * (len(r) + 1)
    for a in p:
        cur = [0]
        for j, b in enumerate(r):
            cur.append(prev[j] + 1 if a == b else max(prev[j + 1], cur[j]))
        prev = cur
    lcs = prev[-1]
    if not lcs:
        return 0.0
    precision, recall = lcs / len(p), lcs / len(r)
    return 2 * precision * recall / (precision + recall)


def answer_corpus(data: str | Path) -> dict:
    """Passages (train and dev answers), dev questions and each question's relevant passage ids."""
    train, dev = mf3qa_pairs(data, "train"), mf3qa_pairs(data, "dev")
    docs = [(f"train-{i}", a) for i, (_q, a, _s) in enumerate(train)] + \
           [(f"dev-{j}", a) for j, (_q, a, _s) in enumerate(dev)]
    by_text: dict[str, set[str]] = {}
    for doc_id, text in docs:
        by_text.setdefault(text.strip(), set()).add(doc_id)
    return {"docs": docs, "queries": [q for q, _a, _s in dev],
            "relevant": [by_text[a.strip()] | {f"dev-{j}"} for j, (_q, a, _s) in enumerate(dev)], "train": train}


def write_passages(docs: Sequence[tuple[str, str]], path: str | Path) -> Path:
    """``(id, text)`` rows as the JSONL ``gaokerena index build`` reads."""
    import json

    with open(path, "w", encoding="utf-8") as fh:
        for doc_id, text in docs:
            fh.write(json.dumps({"id": doc_id, "text": text}, ensure_ascii=False) + "\n")
    return Path(path)


def retrieval_rows(retriever, queries: Sequence[str], relevant: Sequence[set[str]], k: int = 10) -> list[tuple]:
    """(mode, metrics) for dense alone, each lexical side alone and the retriever's own hybrid."""
    from dataclasses import replace

    from gaokerena_rag.retrieval import RetrievalConfig

    own = retriever.config
    modes = [("dense", RetrievalConfig(mode="dense"))] if retriever.embedder is not None else []
    modes += [(name, RetrievalConfig(weights={name: 1.0})) for name in retriever.files.lexical]
    modes.append(("hybrid (" + ", ".join(f"{n} {w:g}" for n, w in own.weights.items()) + f", {own.fusion})", own))
    rows = []
    try:
        for name, config in modes:
            retriever.config = replace(config, k=k)
            results = retriever.retrieve_many(list(queries), k)
            rows.append((name, metrics([[r.doc_id for r in res] for res in results], relevant, k)))
    finally:
        retriever.config = own
    return rows


def answer_body(text: str, notice: str | None) -> str:
    """The answer without the fixed notices and framing, as compared with the doctor's answer."""
    from gaokerena_rag.generators.extractive import FRAMING
    from gaokerena_rag.safety import PHYSICIAN_NOTICE

    for fixed in (notice, PHYSICIAN_NOTICE, FRAMING):
        if fixed:
            text = text.replace(fixed, " ")
    return text


def percentile(values: Sequence[float], q: float) -> float:
    xs = sorted(values)
    if not xs:
        return float("nan")
    return xs[min(len(xs) - 1, max(0, int(round(q / 100 * (len(xs) - 1)))))]


def answer_report(assistant, pairs: Sequence[tuple[str, str]], progress: bool = True) -> dict:
    """Ask each question; score the answers (and, for comparison, the top source's answer part
    alone) against the reference answers."""
    from tqdm.auto import tqdm

    from gaokerena_rag.citations import parse_citations

    f1, rl, top_f1, top_rl, grounding, times = [], [], [], [], [], []
    in_range = abstained = flagged = printed = removed = 0
    for question, reference in tqdm(pairs, desc="answers", disable=not progress):
        t0 = time.perf_counter()
        answer = assistant.ask(question)
        times.append(time.perf_counter() - t0)
        numbers = parse_citations(answer.text)
        printed += len(CITATION.findall(answer.text))
        in_range += all(1 <= n <= len(answer.sources) for n in numbers)
        removed += answer.removed_citations
        flagged += bool(answer.emergency)
        top = answer.sources[0].answer_text if answer.sources else ""
        top_f1.append(token_f1(top, reference))
        top_rl.append(rouge_l(top, reference))
        if answer.abstained:
            abstained += 1
            continue
        body = answer_body(answer.text, answer.emergency)
        f1.append(token_f1(body, reference))
        rl.append(rouge_l(body, reference))
        grounding.append(answer.grounding)
    n = max(len(pairs), 1)

    def mean(xs):
        return sum(xs) / len(xs) if xs else float("nan")

    return {"questions": len(pairs), "token_f1": mean(f1), "rouge_l": mean(rl), "answered": len(f1),
            "retrieval_only_token_f1": mean(top_f1), "retrieval_only_rouge_l": mean(top_rl),
            "citations_printed": printed, "citations_in_range": in_range / n, "citations_removed": removed,
            "grounding_mean": mean(grounding), "grounding_min": min(grounding, default=float("nan")),
            "abstained": abstained / n, "emergency": flagged / n,
            "p50_ms": 1000 * percentile(times, 50), "p95_ms": 1000 * percentile(times, 95)}
