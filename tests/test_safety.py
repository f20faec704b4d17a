"""Red flags measured on a labelled Persian set (written for the tests): recall >= 0.95 at precision >= 0.8."""

from gaokerena_rag.safety import emergency_notice, red_flags

from redflag_cases import EMERGENCIES, NON_EMERGENCIES


def test_set_size_and_balance():
    assert len(EMERGENCIES) + len(NON_EMERGENCIES) >= 80
    assert len({c for _q, c in EMERGENCIES}) == 11  # every category has cases


def test_recall_and_precision():
    tp = sum(red_flags(q).emergency for q, _c in EMERGENCIES)
    fp = sum(red_flags(q).emergency for q in NON_EMERGENCIES)
    recall = tp / len(EMERGENCIES)
    precision = tp / (tp + fp)
    assert recall >= 0.95 and precision >= 0.8, (recall, precision)


def test_categories_named():
    wrong = [(q, c, red_flags(q).categories) for q, c in EMERGENCIES if c not in red_flags(q).categories]
    assert len(wrong) <= 2, wrong


def test_spelling_variants_and_notice():
    assert red_flags("درد قفسه سينه دارم").categories == ("chest_pain",)  # Arabic yeh
    assert red_flags("تشنج‌ کرد").emergency and red_flags("تشنجکرد").emergency
    assert "115" in emergency_notice() and "112" in emergency_notice("112")
    assert not red_flags("").emergency and not red_flags("سلام").emergency
