"""The semantic red-flag classifier: a linear probe (``probe.py``) over question embeddings.

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

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .probe import LinearProbe, fit

DEFAULT_PATH = Path(__file__).parent / "data" / "redflag_classifier.json"
__all__ = ["DEFAULT_PATH", "RedFlagClassifier", "fit"]


@dataclass
class RedFlagClassifier(LinearProbe):
    centroids: dict[str, np.ndarray] = field(default_factory=dict)

    def category(self, vector: np.ndarray) -> str:
        names = list(self.centroids)
        sims = [float(vector @ self.centroids[n]) for n in names]
        return names[int(np.argmax(sims))] if names else "emergency"

    def to_dict(self) -> dict:
        return {**super().to_dict(), "centroids": {k: [round(float(x), 6) for x in v] for k, v in self.centroids.items()}}

    @classmethod
    def load(cls, path: str | Path = DEFAULT_PATH) -> "RedFlagClassifier":
        data = cls.read(path)
        return cls(embedder=data["embedder"], weights=np.asarray(data["weights"], dtype=np.float32),
                   bias=float(data["bias"]), threshold=float(data["threshold"]), provenance=data.get("provenance", {}),
                   centroids={k: np.asarray(v, dtype=np.float32) for k, v in data.get("centroids", {}).items()})
