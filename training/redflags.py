"""Train the semantic red-flag classifier (``gaokerena_rag/redflag_model.py``).

Positives: the emergencies in ``training/data/redflag_examples.json`` (written for the
project). Negatives: its look-alike non-emergencies, half of the written non-medical questions
(``out_of_domain_fa.json``), and ordinary patient questions
from the MF3QA train split, both whole and cut to their first sentence (so that short
questions are not taken for emergencies because they are short). The threshold is set
so that ``flag_rate`` of the MF3QA dev questions' first half is flagged (dev holds some
true emergencies, so this is an upper bound on false alarms); the second half reports it.

    python -m training.redflags [--data ../shared/data/mf3qa] [--out gaokerena_rag/data/redflag_classifier.json]
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np

from gaokerena_rag.chunking import split_sentences
from gaokerena_rag.embedders import DEFAULT_EMBEDDER, load_embedder
from gaokerena_rag.normalize import strip_courtesies
from gaokerena_rag.redflag_model import DEFAULT_PATH, RedFlagClassifier, fit

from .probe_cli import probe_main

EXAMPLES = Path(__file__).parent / "data" / "redflag_examples.json"
OUT_OF_DOMAIN = Path(__file__).parent / "data" / "out_of_domain_fa.json"


@dataclass
class RedFlagRecipe:
    examples: Path = EXAMPLES
    out_of_domain: Path = OUT_OF_DOMAIN  # non-medical questions; the first half are negatives
    data: Path = Path("../shared/data/mf3qa")
    out: Path = DEFAULT_PATH
    # the retriever's embedder: one query embedding serves retrieval and the red flags
    embedder: str = DEFAULT_EMBEDDER
    ordinary: int = 3000  # MF3QA train questions used as ordinary negatives
    look_alike_weight: float = 2.0  # total weight of the look-alikes (positives weigh 1); 5-fold CV on the examples
    ordinary_weight: float = 1.0  # total weight of the ordinary questions (whole + first sentence)
    out_of_domain_weight: float = 0.25  # total weight of the non-medical questions
    flag_rate: float = 0.05  # share of dev questions the classifier may flag
    seed: int = 0


def first_sentence(question: str, max_words: int = 14) -> str | None:
    parts = [s for s in split_sentences(strip_courtesies(question)) if len(s.split()) >= 3]
    return " ".join(parts[0].split()[:max_words]) if parts else None


def train(recipe: RedFlagRecipe, *, ordinary: list[str] | None = None, dev: list[str] | None = None,
          embedder=None) -> tuple[RedFlagClassifier, dict]:
    """Fit and calibrate; ``ordinary``/``dev`` default to the MF3QA train/dev questions."""
    from index_build.presets import mf3qa_pairs

    examples = json.loads(Path(recipe.examples).read_text("utf-8"))
    if ordinary is None:
        ordinary = [q for q, _a, _s in mf3qa_pairs(recipe.data, "train")]
        random.Random(recipe.seed).shuffle(ordinary)
        ordinary = ordinary[: recipe.ordinary]
    if dev is None:
        dev = [q for q, _a, _s in mf3qa_pairs(recipe.data, "dev")]
    embedder = embedder or load_embedder(recipe.embedder)

    def embed(texts):
        return embedder.embed_queries([strip_courtesies(t) for t in texts])

    pos_text = [e["text"] for e in examples["emergencies"]]
    pos_cat = [e["category"] for e in examples["emergencies"]]
    shorts = [s for s in map(first_sentence, ordinary) if s]
    other = json.loads(Path(recipe.out_of_domain).read_text("utf-8"))["questions"]
    other = other[: len(other) // 2]
    pos, look, ordn, short = embed(pos_text), embed(examples["look_alikes"]), embed(ordinary), embed(shorts)
    weights, bias = fit(pos, [look, ordn, short, embed(other)], negative_weights=[
        recipe.look_alike_weight, recipe.ordinary_weight / 2, recipe.ordinary_weight / 2, recipe.out_of_domain_weight])
    calib, report_half = dev[: len(dev) // 2], dev[len(dev) // 2:]
    calib_scores = embed(calib) @ weights + bias
    threshold = float(np.quantile(calib_scores, 1 - recipe.flag_rate))
    centroids = {}
    for cat in dict.fromkeys(pos_cat):
        c = pos[[i for i, x in enumerate(pos_cat) if x == cat]].mean(0)
        centroids[cat] = c / np.linalg.norm(c)
    clf = RedFlagClassifier(embedder=embedder.spec, weights=weights, bias=bias, threshold=threshold,
                            centroids=centroids)
    report = {
        "trained": date.today().isoformat(), "positives": len(pos_text), "look_alikes": len(examples["look_alikes"]),
        "ordinary": len(ordinary), "out_of_domain": len(other), "first_sentences": len(shorts), "flag_rate_target": recipe.flag_rate,
        "dev_calibration_flagged": float((calib_scores > threshold).mean()),
        "dev_report_flagged": float((clf.scores(embed(report_half)) > threshold).mean()) if report_half else None,
        "train_recall": float((clf.scores(pos) > threshold).mean()),
        "train_look_alikes_flagged": float((clf.scores(look) > threshold).mean()),
    }
    clf.provenance = report
    return clf, report


def main(argv: list[str] | None = None) -> int:
    return probe_main(RedFlagRecipe, train, __doc__.splitlines()[0], argv)


if __name__ == "__main__":
    raise SystemExit(main())
