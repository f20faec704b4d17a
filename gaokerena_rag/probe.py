"""A linear probe over query embeddings: a logistic regression's weights, bias and threshold.

Two questions about a question are answered this way, each by a probe trained on the
project's own examples and stored as JSON with the embedder spec it reads (never pickle):
is it an emergency (``redflag_model.RedFlagClassifier``, which also names the category), and
is it about health at all (``domain_gate.DomainGate``). ``fit`` trains one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np


@dataclass
class LinearProbe:
    embedder: str  # the embedder spec whose query vectors it reads
    weights: np.ndarray
    bias: float
    threshold: float
    provenance: dict = field(default_factory=dict)

    def scores(self, vectors: np.ndarray) -> np.ndarray:
        return np.asarray(vectors, dtype=np.float32) @ self.weights + self.bias

    def to_dict(self) -> dict:
        return {"embedder": self.embedder, "bias": self.bias, "threshold": self.threshold,
                "weights": [round(float(x), 6) for x in self.weights], "provenance": self.provenance}

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), ensure_ascii=False), "utf-8")

    @staticmethod
    def read(path: str | Path) -> dict:
        """The stored fields, checked: a clear error naming the file and the field at fault."""
        path = Path(path)
        try:
            data = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError) as exc:
            raise ValueError(f"{path}: not a readable probe file ({exc})") from exc
        for name, kind in (("embedder", str), ("bias", (int, float)), ("threshold", (int, float)), ("weights", list)):
            if not isinstance(data.get(name) if isinstance(data, dict) else None, kind):
                raise ValueError(f"{path}: field {name!r} is missing or not a {getattr(kind, '__name__', 'number')}")
        return data

    @classmethod
    def load(cls, path: str | Path) -> "LinearProbe":
        data = cls.read(path)
        return cls(embedder=data["embedder"], weights=np.asarray(data["weights"], dtype=np.float32),
                   bias=float(data["bias"]), threshold=float(data["threshold"]), provenance=data.get("provenance", {}))


def fit(positives: np.ndarray | Sequence[np.ndarray], negatives: Sequence[np.ndarray], *,
        negative_weights: Sequence[float], positive_weight: float | Sequence[float] = 1.0, l2: float = 1e-3,
        steps: int = 3000, lr: float = 0.5) -> tuple[np.ndarray, float]:
    """Weighted logistic regression by gradient descent.

    Each group's weight is spread over its rows: ``positive_weight`` for all positives
    together (or, with ``positives`` a list of groups, one weight per group),
    ``negative_weights[i]`` for all of ``negatives[i]`` (so a few hundred written
    look-alikes count as much as thousands of ordinary questions if asked).
    """
    pos_groups = [np.asarray(positives)] if isinstance(positives, np.ndarray) else [np.asarray(p) for p in positives]
    pos_totals = [positive_weight] if isinstance(positive_weight, (int, float)) else list(positive_weight)
    if len(pos_totals) != len(pos_groups):
        raise ValueError(f"{len(pos_groups)} positive groups but {len(pos_totals)} positive weights")
    groups = pos_groups + [np.asarray(n) for n in negatives]
    totals = pos_totals + list(negative_weights)
    x = np.vstack(groups).astype(np.float64)
    y = np.concatenate([np.ones(len(g)) for g in pos_groups] + [np.zeros(len(g)) for g in groups[len(pos_groups):]])
    w = np.concatenate([np.full(len(g), t / len(g)) for g, t in zip(groups, totals)])
    w = w / w.sum()
    weights, bias = np.zeros(x.shape[1]), 0.0
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-(x @ weights + bias)))
        g = (p - y) * w
        weights -= lr * (x.T @ g + l2 * weights)
        bias -= lr * g.sum()
    return weights.astype(np.float32), float(bias)
