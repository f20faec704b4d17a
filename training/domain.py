"""Train the domain gate's probe (``gaokerena_rag/domain_gate.py``): is a question about health?

Positives: MF3QA train patient questions, whole and cut to their first sentence, and short
medical questions written for it (``training/data/short_medical_fa.json``: a chat box gets
«اسهال دارم چی بخورم؟», MF3QA holds long stories). Negatives: the everyday
questions written for it (``training/data/non_medical_fa.json``; not the non-medical questions
that calibrate and report the gates, ``out_of_domain_fa.json``, nor the tests'). The threshold is
the highest at which at most ``max_refused`` of MF3QA dev 1-1000 questions, and of their first
sentences, score below it; dev 1001-2000 reports the same shares.

    python -m training.domain [--data ../shared/data/mf3qa] [--out gaokerena_rag/data/domain_classifier.json]

Trained on MF3QA (CC BY-NC-SA 4.0): the weights carry that licence.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np

from gaokerena_rag.domain_gate import DEFAULT_PATH
from gaokerena_rag.embedders import DEFAULT_EMBEDDER, load_embedder
from gaokerena_rag.normalize import strip_courtesies
from gaokerena_rag.probe import LinearProbe, fit

from .probe_cli import probe_main

from .redflags import first_sentence

NON_MEDICAL = Path(__file__).parent / "data" / "non_medical_fa.json"
SHORT_MEDICAL = Path(__file__).parent / "data" / "short_medical_fa.json"


@dataclass
class DomainRecipe:
    non_medical: Path = NON_MEDICAL
    short_medical: Path = SHORT_MEDICAL
    short_weight: float = 0.5  # total weight of the written short questions (MF3QA's weigh 1, the negatives 1)
    data: Path = Path("../shared/data/mf3qa")
    out: Path = DEFAULT_PATH
    embedder: str = DEFAULT_EMBEDDER  # the retriever's: one query embedding serves retrieval and this gate
    patient_questions: int = 3000  # MF3QA train questions used as positives
    max_refused: float = 0.02  # share of dev 1-1000 questions (and of their first sentences) below the threshold
    max_embedded_chars: int = 2000  # as ``RetrievalConfig.max_embedded_chars``: what the gate embeds
    seed: int = 0


def train(recipe: DomainRecipe, *, patients: list[str] | None = None, dev: list[str] | None = None,
          embedder=None) -> tuple[LinearProbe, dict]:
    """Fit and set the threshold; ``patients``/``dev`` default to the MF3QA train/dev questions."""
    if patients is None or dev is None:
        from index_build.presets import mf3qa_pairs
    if patients is None:
        patients = [q for q, _a, _s in mf3qa_pairs(recipe.data, "train")]
        random.Random(recipe.seed).shuffle(patients)
        patients = patients[: recipe.patient_questions]
    if dev is None:
        dev = [q for q, _a, _s in mf3qa_pairs(recipe.data, "dev")]
    embedder = embedder or load_embedder(recipe.embedder)
    others = json.loads(Path(recipe.non_medical).read_text("utf-8"))["questions"]
    written = json.loads(Path(recipe.short_medical).read_text("utf-8"))["questions"]

    def embed(texts):
        return embedder.embed_queries([strip_courtesies(t)[: recipe.max_embedded_chars] for t in texts])

    shorts = [s for s in map(first_sentence, patients) if s]
    negatives = embed(others)
    weights, bias = fit([np.vstack([embed(patients), embed(shorts)]), embed(written)], [negatives],
                        positive_weight=[1.0, recipe.short_weight], negative_weights=[1.0])
    probe = LinearProbe(embedder=embedder.spec, weights=weights, bias=bias, threshold=0.0)
    halves = {"dev_calibration": dev[: len(dev) // 2], "dev_report": dev[len(dev) // 2:]}
    # each half's scores, whole and first sentences, computed once: the threshold comes from the first half
    scores = {f"{name}{part}": probe.scores(embed(texts)) if texts else np.zeros(0)
              for name, half in halves.items()
              for part, texts in (("", half), ("_first_sentences", [s for s in map(first_sentence, half) if s]))}
    probe.threshold = float(min(np.quantile(scores["dev_calibration"], recipe.max_refused),
                                np.quantile(scores["dev_calibration_first_sentences"], recipe.max_refused)))
    refused = {f"{key}_refused": float((v < probe.threshold).mean()) if len(v) else None for key, v in scores.items()}
    probe.provenance = {
        "trained": date.today().isoformat(), "patient_questions": len(patients), "first_sentences": len(shorts),
        "short_medical": len(written), "non_medical": len(others), "non_medical_file": Path(recipe.non_medical).name,
        "max_refused": recipe.max_refused,
        "train_non_medical_passed": float((probe.scores(negatives) >= probe.threshold).mean()),
        **refused, "licence": "trained on MF3QA (CC BY-NC-SA 4.0)",
    }
    return probe, probe.provenance


def main(argv: list[str] | None = None) -> int:
    return probe_main(DomainRecipe, train, __doc__.splitlines()[0], argv)


if __name__ == "__main__":
    raise SystemExit(main())
