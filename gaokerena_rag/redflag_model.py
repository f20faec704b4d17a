"""The semantic red-flag classifier: a logistic regression over question embeddings.

The phrase rules in ``safety.py`` are precise but miss emergencies told in words they
do not list («یه فیل روی سینه‌ام نشسته»). This classifier catches those: a weight
vector over the embedder's query vectors, trained by ``training/redflags.py`` on the
project's own Persian examples (emergencies, look-alikes) against ordinary patient
questions, with its threshold calibrated so that a set share of ordinary questions
is flagged. A hit is named after the nearest category centroid.

Stored as JSON (weights, bias, threshold, centroids and the embedder spec it was
trained for), never pickle; loading checks the embedder spec.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

DEFAULT_PATH = Path(__file__).parent / "data" / "redflag_classifier.json"


@dataclass
class RedFlagClassifier:
    embedder: str  # the embedder spec whose query vectors it reads
    weights: np.ndarray
    bias: float
    threshold: float
    centroids: dict[str, np.ndarray] = field(default_factory=dict)
    provenance: dict = field(default_factory=dict)

    def scores(self, vectors: np.ndarray) -> np.ndarray:
        return np.asarray(vectors, dtype=np.float32) @ self.weights + self.bias

    def category(self, vector: np.ndarray) -> str:
        names = list(self.centroids)
        sims = [float(vector @ self.centroids[n]) for n in names]
        return names[int(np.argmax(sims))] if names else "emergency"

    def save(self, path: str | Path) -> None:
        data = {"embedder": self.embedder, "bias": self.bias, "threshold": self.threshold,
                "weights": [round(float(x), 6) for x in self.weights],
                "centroids": {k: [round(float(x), 6) for x in v] for k, v in self.centroids.items()},
                "provenance": self.provenance}
        Path(path).write_text(json.dumps(data, ensure_ascii=False), "utf-8")

    @classmethod
    def load(cls, path: str | Path = DEFAULT_PATH) -> "RedFlagClassifier":
        data = json.loads(Path(path).read_text("utf-8"))
        return cls(embedder=data["embedder"], weights=np.asarray(data["weights"], dtype=np.float32),
                   bias=float(data["bias"]), threshold=float(data["threshold"]),
                   centroids={k: np.asarray(v, dtype=np.float32) for k, v in data["centroids"].items()},
                   provenance=data.get("provenance", {}))


def fit(positives: np.ndarray, negatives: Sequence[np.ndarray], *, negative_weights: Sequence[float],
        positive_weight: float = 1.0, l2: float = 1e-3, steps: int = 3000, lr: float = 0.5) -> tuple[np.ndarray, float]:
    """Weighted logistic regression by gradient descent.

    Each group's weight is spread over its rows: ``positive_weight`` for all positives
    together, ``negative_weights[i]`` for all of ``negatives[i]`` (so a few hundred
    written look-alikes count as much as thousands of ordinary questions if asked).
    """
    groups = [np.asarray(positives)] + [np.asarray(n) for n in negatives]
    totals = [positive_weight] + list(negative_weights)
    x = np.vstack(groups).astype(np.float64)
    y = np.concatenate([np.ones(len(groups[0]))] + [np.zeros(len(g)) for g in groups[1:]])
    w = np.concatenate([np.full(len(g), t / len(g)) for g, t in zip(groups, totals)])
    w = w / w.sum()
    weights, bias = np.zeros(x.shape[1]), 0.0
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-(x @ weights + bias)))
        g = (p - y) * w
        weights -= lr * (x.T @ g + l2 * weights)
        bias -= lr * g.sum()
    return weights.astype(np.float32), float(bias)
