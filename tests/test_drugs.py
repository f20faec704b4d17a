"""The drug lexicon: every shipped entry has the expected form, bad files are named, names are found."""

from __future__ import annotations

import json

import pytest

from gaokerena_rag.drugs import DEFAULT_PATH, DrugLexicon, LexiconError, validate


def test_the_shipped_lexicon_has_300_generics_each_well_formed():
    data = json.loads(DEFAULT_PATH.read_text("utf-8"))
    drugs = validate(data, str(DEFAULT_PATH))  # raises on the first bad entry
    assert len(drugs) >= 300
    assert sum(bool(d.brands) for d in drugs) >= 300  # brand names for nearly all
    lexicon = DrugLexicon(drugs)
    # every Persian spelling of every entry is found as itself
    missed = [(d.generic, fa) for d in drugs for fa in d.fa if len(fa) >= 3 and d.generic not in lexicon.find(fa)
              and not any(fa in o.fa for o in drugs if o.generic != d.generic)]
    assert not missed, missed[:5]


@pytest.mark.parametrize("text, generic", [
    ("لکساپرو ۱۰ میلی‌گرم می‌خورم", "escitalopram"),
    ("قرص اس سیتالوپرام", "escitalopram"),
    ("Lexapro", "escitalopram"),
    ("دکتر آگمنتین داده", "co-amoxiclav"),
    ("Augmentin 625", "co-amoxiclav"),
    ("سینگولار برای آسم", "montelukast"),
    ("متفورمين قبل از آزمايش", "metformin"),  # Arabic yeh, as often typed
    ("بروفن خوردم", "ibuprofen"),
])
def test_a_medicine_is_found_under_any_of_its_names(text, generic):
    assert generic in DrugLexicon.load().find(text)


def test_words_that_only_look_like_names_are_not_medicines():
    lexicon = DrugLexicon.load()
    assert lexicon.find("دی ماه امسال رفتم روی صندلی نشستم") == {}
    assert lexicon.find("ویتامینه") == {}  # whole words only
    # «کنکور» is the university entrance exam before it is Concor (bisoprolol): its Persian spelling is not a name
    assert lexicon.find("برای کنکور ریاضی چطور برنامه ریزی کنم؟") == {} and "bisoprolol" in lexicon.find("Concor 5")


def test_expansion_gives_the_other_names():
    expansion = DrugLexicon.load().expansion("لکساپرو می‌خورم")
    assert "escitalopram" in expansion and "اسیتالوپرام" in expansion


@pytest.mark.parametrize("entry, field", [
    ({"generic": "Escitalopram", "fa": ["اسیتالوپرام"], "brands": [], "class": "SSRI"}, "generic"),
    ({"generic": "escitalopram", "fa": ["escitalopram"], "brands": [], "class": "SSRI"}, "fa"),
    ({"generic": "escitalopram", "fa": [], "brands": [], "class": "SSRI"}, "fa"),
    ({"generic": "escitalopram", "fa": ["اسیتالوپرام"], "brands": [" Lexapro"], "class": "SSRI"}, "brands"),
    ({"generic": "escitalopram", "fa": ["اسیتالوپرام"], "brands": [], "class": ""}, "class"),
])
def test_a_bad_entry_is_named_by_file_entry_and_field(entry, field):
    good = {"generic": "sertraline", "fa": ["سرترالین"], "brands": ["Zoloft"], "class": "SSRI"}
    with pytest.raises(LexiconError, match=rf"mine.json, entry 1.*field '{field}'"):
        validate({"drugs": [good, entry]}, "mine.json")
    with pytest.raises(LexiconError, match="listed twice"):
        validate({"drugs": [good, good]}, "mine.json")


def test_a_one_word_name_typed_as_two_words_is_found():
    lexicon = DrugLexicon.load()
    assert lexicon.find("مت فورمین را بعد از غذا بخورید") == {"metformin": "مت فورمین"}
    assert set(lexicon.find("دیفن هیدرامین یا پنی سیلین")) == {"diphenhydramine", "penicillin"}
    assert lexicon.find("ام بین") == {}  # two short words that meet by chance are not a name
