"""Red flags on Persian questions written for the project: the held-out set (never used to change the
rules or the classifier) must reach recall >= 0.95 at precision >= 0.8; the training examples too."""

import json
from pathlib import Path

import numpy as np
import pytest

from gaokerena_rag.redflag_model import RedFlagClassifier, fit
from gaokerena_rag.safety import RedFlagDetector, emergency_notice, red_flags

from redflag_cases import EMERGENCIES, NON_EMERGENCIES

ROOT = Path(__file__).parents[1]
EXAMPLES = json.loads((ROOT / "training/data/redflag_examples.json").read_text("utf-8"))
# held-out batch 2 (issue 15): written before that rule and classifier changes, never tuned on
BATCH2 = json.loads((ROOT / "benchmarks/data/redflags_batch2_fa.json").read_text("utf-8"))
CATEGORIES = {"chest_pain", "stroke", "breathing", "bleeding", "unconscious", "seizure", "poisoning", "allergy",
              "suicide", "pregnancy", "infant", "meningitis_sepsis"}


@pytest.fixture(scope="module")
def detector(embedder):
    return RedFlagDetector(embedder=embedder)


def recall_precision(detect, emergencies, others):
    tp = sum(detect(q).emergency for q, _c in emergencies)
    fp = sum(detect(q).emergency for q in others)
    return tp / len(emergencies), tp / (tp + fp)


def test_sets_cover_every_category():
    assert len(EMERGENCIES) + len(NON_EMERGENCIES) >= 50
    assert len(BATCH2["emergencies"]) >= 30 and len(BATCH2["look_alikes"]) >= 30
    assert {c for _q, c in EMERGENCIES} | {c for _q, c in BATCH2["emergencies"]} == CATEGORIES
    assert {e["category"] for e in EXAMPLES["emergencies"]} == CATEGORIES
    written = ({q for q, _c in EMERGENCIES} | set(NON_EMERGENCIES) | {q for q, _c in BATCH2["emergencies"]}
               | set(BATCH2["look_alikes"]))
    assert not written & ({e["text"] for e in EXAMPLES["emergencies"]} | set(EXAMPLES["look_alikes"]))


def test_held_out_recall_and_precision(detector):
    recall, precision = recall_precision(detector.detect, EMERGENCIES, NON_EMERGENCIES)
    assert recall >= 0.95 and precision >= 0.8, (recall, precision)


def test_held_out_batch2_recall_and_precision(detector):
    """The issue-15 targets on the batch written before tuning: recall >= 0.95, precision >= 0.9."""
    recall, precision = recall_precision(detector.detect, BATCH2["emergencies"], BATCH2["look_alikes"])
    assert recall >= 0.95 and precision >= 0.9, (recall, precision)


def test_new_red_flags_and_their_look_alikes():
    assert red_flags("پسرم تب داره و نقطه‌های ریز قرمز زده که با فشار لیوان محو نمیشه").categories == ("meningitis_sepsis",)
    assert red_flags("تب دارم و گردنم خشک شده").categories == ("meningitis_sepsis",)
    assert not red_flags("بچم تب داره و دونه‌هاش با فشار سفید میشه").emergency  # blanches
    assert red_flags("نوزاد سه هفته ام تب کرده").categories == ("infant",)
    assert not red_flags("بچه ۶ ماهه ام کمی تب داره بعد از واکسن").emergency  # past three months, rules only
    assert red_flags("لبای بچم کبود شده").categories == ("breathing",)
    assert not red_flags("مچ پام پیچ خورد و کبود شد").emergency  # a bruise is not cyanosis
    assert not red_flags("برای سینوزیت آموکسی سیلین میخورم، سرما خوردم یکم نفسم تنگه").emergency
    assert red_flags("بچه ام یه قلپ سفید کننده خورده").categories == ("poisoning",)
    assert red_flags("بعد از خوردن قرص های مادرم بچم خوابالو شده").categories == ("poisoning",)  # another's pills
    assert not red_flags("قرص های مادرم رو کی بهش بدم؟").emergency


def test_training_examples_recall_and_precision(detector):
    emergencies = [(e["text"], e["category"]) for e in EXAMPLES["emergencies"]]
    recall, precision = recall_precision(detector.detect, emergencies, EXAMPLES["look_alikes"])
    assert recall >= 0.95 and precision >= 0.8, (recall, precision)


def test_rules_alone_are_precise():
    _recall, precision = recall_precision(red_flags, EMERGENCIES, NON_EMERGENCIES)
    assert precision >= 0.85


def test_hedges_and_exclusions_veto_the_classifier_not_the_rules(detector):
    assert detector.detect("درد شدید وسط سینه دارم").categories == ("chest_pain",)  # a rule
    assert not detector.detect("سینه‌ام هنگام شیردهی درد می‌کند").emergency  # an exclusion
    assert detector.detect("نوزادم موقع نفس کشیدن قفسه سینه‌اش فرو میره").emergency  # only the classifier sees it
    assert not red_flags("نوزادم موقع نفس کشیدن قفسه سینه‌اش فرو میره").emergency
    assert not detector.detect("گاهی نوزادم موقع نفس کشیدن قفسه سینه‌اش فرو میره").emergency  # hedged


def test_a_classifier_category_about_someone_the_question_does_not_name_is_dropped(detector):
    """«infant» is named by the nearest example; an adult's milk intolerance is close to babies' colic."""
    clf = detector.classifier
    vector = detector.embedder.embed_queries(["بعد از خوردن شیر نفخ میکنم و دل درد میگیرم"])[0]
    assert float(clf.scores(vector[None])[0]) > clf.threshold and clf.category(vector) == "infant"  # it would flag
    assert not detector.detect("بعد از خوردن شیر نفخ میکنم و دل درد میگیرم").emergency


def test_heartburn_is_not_taken_for_chest_pain_or_breathlessness(detector):
    clf = detector.classifier
    vector = detector.embedder.embed_queries(["سوزش سر دل دارم"])[0]
    assert float(clf.scores(vector[None])[0]) > clf.threshold  # the classifier alone would flag it
    assert not detector.detect("بعد از غذا سوزش سر دل دارم و ترش میکنم").emergency
    assert detector.detect("درد شدید قفسه سینه دارم که به دست چپم میزنه و ترش میکنم").emergency  # a rule still


def test_spelling_variants_and_notice():
    assert red_flags("درد قفسه سينه دارم").categories == ("chest_pain",)  # Arabic yeh
    assert red_flags("تشنج‌ کرد").emergency and red_flags("تشنجکرد").emergency
    assert "115" in emergency_notice() and "112" in emergency_notice("112")
    assert not red_flags("").emergency and not red_flags("سلام").emergency


def test_classifier_round_trip_and_fit(tmp_path):
    rng = np.random.default_rng(0)
    pos = rng.normal(1.0, 0.3, (20, 4))
    neg = rng.normal(-1.0, 0.3, (40, 4))
    w, b = fit(pos, [neg], negative_weights=[1.0])
    assert ((pos @ w + b) > 0).all() and ((neg @ w + b) < 0).all()
    clf = RedFlagClassifier("toy", w, b, 0.0, centroids={"a": np.ones(4) / 2})
    clf.save(tmp_path / "c.json")
    again = RedFlagClassifier.load(tmp_path / "c.json")
    np.testing.assert_allclose(again.scores(pos), clf.scores(pos), atol=1e-4)
    assert again.category(np.ones(4)) == "a"


def test_detector_refuses_another_vector_space(detector):
    class Other:
        spec = "some-other-model"

    assert RedFlagDetector(embedder=Other()).embedder.spec == RedFlagClassifier.load().embedder
