"""The ``domain`` gate: is the question about health at all?

A question about ringtones, gifts or bank loans can share every word with the corpus
(«چطور … کنم؟») and land on a consultation by chance, so the other gates, which ask how
well the sources match, let some through. This gate asks the question itself: a linear
probe (``probe.LinearProbe``) over its query embedding, trained by ``training/domain.py`` on
MF3QA patient questions (whole and cut to their first sentence, as a chat box gets them)
against everyday questions written for the project, with its threshold set on MF3QA dev
1-1000 so that few patient questions score below it. A question that names a medicine is
always medical. The probe is stored as JSON with the embedder it reads; when the index
embeds with another, the gate reads the probe's (``HybridRetriever.embedder_for``, shared with the red-flag classifier).
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from .documents import ScoredPassage
from .gates import Screen
from .probe import LinearProbe
from .query import Query

DEFAULT_PATH = Path(__file__).parent / "data" / "domain_classifier.json"


class DomainGate:
    name = "domain"

    def __init__(self, probe: LinearProbe, embedder, max_embedded_chars: int | None = None):
        self.probe, self.embedder, self.max_embedded_chars = probe, embedder, max_embedded_chars

    @classmethod
    def for_retriever(cls, retriever, path: str | Path | None = None) -> "DomainGate":
        """The gate for this retriever's index. The other gates' thresholds are calibrated with this gate's
        abstentions counted (``benchmarks/answer_gates.py`` records the probe's sha256): another probe under
        that calibration is a clear error, not a silent change of what is refused."""
        from .calibration import CalibrationError
        from .manifest import sha256_file

        path = Path(path or DEFAULT_PATH)
        probe = LinearProbe.load(path)
        made_with = ((retriever.calibration.abstention or {}) if retriever.calibration else {}).get("domain_probe_sha256")
        if made_with and made_with != sha256_file(path):
            raise CalibrationError(f"{path}: the gate thresholds of {retriever.calibration.embedder} were calibrated "
                                   f"with another domain probe (sha256 {made_with[:16]}…): recalibrate them with "
                                   "benchmarks/answer_gates.py, or use the probe they were made with")
        # the index's embedder, or (another vector space) the one the probe was trained for
        return cls(probe, retriever.embedder_for(probe.embedder), retriever.config.max_embedded_chars)

    def score(self, query: Query) -> float:
        """How medical the question reads (the probe's margin; below ``probe.threshold``: not medical)."""
        return float(self.probe.scores(query.embedding(self.embedder, self.max_embedded_chars)[None])[0])

    def screen(self, query: Query, sources: Sequence[ScoredPassage]) -> Screen:
        if not query.drugs and query.stripped.strip():
            score = self.score(query)
            if score < self.probe.threshold:
                return Screen(list(sources), abstain=f"domain score {score:.2f} < {self.probe.threshold:.2f}")
        return Screen(list(sources))
