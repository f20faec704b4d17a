"""Look-alike conditions: every shipped entry is well formed, bad files are named, conditions are
found under their spellings, and a sentence or consultation about a look-alike is not used."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from gaokerena_rag.drugs import DrugLexicon
from gaokerena_rag.lookalikes import DEFAULT_PATH, LookAlikeError, LookAlikes, validate
from gaokerena_rag.query import Query
from gaokerena_rag.sentence_rules import SentenceRules


@pytest.fixture(scope="module")
def lookalikes():
    return LookAlikes.load()


def test_the_shipped_list_is_well_formed_and_every_spelling_is_found_as_itself(lookalikes):
    conditions = validate(json.loads(DEFAULT_PATH.read_text("utf-8")), str(DEFAULT_PATH))
    assert len({c.group for c in conditions}) >= 20 and len(conditions) >= 45
    missed = [(c.name, fa) for c in conditions for fa in c.fa if c.name not in lookalikes.find(fa)]
    assert not missed, missed[:5]


def test_a_bad_entry_is_named_by_file_group_and_field():
    bad = {"groups": [{"group": "thyroid", "conditions": [{"name": "hypothyroidism", "fa": ["کم کاری تیروئید"]},
                                                          {"name": "hyperthyroidism", "fa": ["overactive"]}]}]}
    with pytest.raises(LookAlikeError, match=r"x\.json, group 0 \(thyroid\), condition 1 \(hyperthyroidism\), field 'fa'"):
        validate(bad, "x.json")
    twice = {"groups": [{"group": "g", "conditions": [{"name": "aa", "fa": ["سزارین"]}, {"name": "bb", "fa": ["سزارین"]}]}]}
    with pytest.raises(LookAlikeError, match="already a spelling of aa"):
        validate(twice, "x.json")
    with pytest.raises(LookAlikeError, match="at least two conditions"):
        validate({"groups": [{"group": "g", "conditions": [{"name": "aa", "fa": ["یبوست"]}]}]}, "x.json")


@pytest.mark.parametrize("text, condition", [
    ("کم‌کاری تیروئید دارم", "hypothyroidism"),
    ("تیروئیدم کم کاره و خسته‌ام", "hypothyroidism"),  # word order and endings of speech
    ("فشارم پایینه و سرگیجه دارم", "hypotension"),
    ("سنگ کیسه‌ی صفرا دارم", "gallstone"),  # an ezafe between the words
    ("دیابت نوع ۲ دارم", "type 2 diabetes"),  # Persian digits
    ("تبخال تناسلی زدم", "genital herpes"),  # the longer spelling wins over «تبخال»
    ("هپاتیت C دارم", "hepatitis c"),
])
def test_a_condition_is_found_under_its_spellings(lookalikes, text, condition):
    assert list(lookalikes.find(text)) == [condition]


def test_words_inside_other_words_are_not_conditions(lookalikes):
    assert lookalikes.find("بیبیوستن به گروه") == {} and lookalikes.find("دوربین عکاسی خریدم") == {}


def test_a_look_alike_is_what_shares_a_group_with_the_question_and_is_not_asked(lookalikes):
    asked = lookalikes.find("کم کاری تیروئید دارم")
    assert lookalikes.look_alikes(lookalikes.find("در پرکاری تیروئید از نمک یددار پرهیز کنید."), asked) == ["hyperthyroidism"]
    assert lookalikes.look_alikes(lookalikes.find("در کم کاری تیروئید قرص را ناشتا بخورید."), asked) == []
    assert lookalikes.look_alikes(lookalikes.find("یبوست از علائم کم کاری است."), asked) == []  # another group: not a look-alike


def test_a_sentence_about_a_look_alike_is_not_quoted(lookalikes):
    rules = SentenceRules(DrugLexicon.load(), lookalikes=lookalikes)

    def context(q):  # as the retriever prepares a question
        return rules.context(replace(Query.make(q), conditions=lookalikes.find(q)))

    caesarean = context("بعد از سزارین کی میتونم ورزش کنم؟")
    assert rules.why_not("بعد از زایمان طبیعی ورزش‌های سبک از هفته‌ی اول مجاز است.", caesarean) == "look_alike"
    assert rules.why_not("پیاده‌روی سبک را از هفته‌های اول شروع کنید و ورزش سنگین را به بعد موکول کنید.",
                         caesarean) is None
    both = context("فرق زایمان طبیعی و سزارین در ورزش کردن بعدش چیه؟")  # asked about both: neither is a look-alike
    assert rules.why_not("بعد از زایمان طبیعی ورزش‌های سبک از هفته‌ی اول مجاز است.", both) is None


def test_a_condition_the_same_clause_rules_out_is_not_asserted(lookalikes):
    text = "سه سال است عفونت گوش خارجی دارم. گوش میانی و داخلی هم بررسی شده مشکلی نداشته. کمکم کنید"
    assert set(lookalikes.find(text)) == {"otitis externa", "otitis media"}  # both are spoken of
    assert set(lookalikes.find(text, asserted=True)) == {"otitis externa"}  # the middle ear was found well
    assert set(lookalikes.find("گوش میانی بچم عفونت کرده ولی گوش خارجی سالمه", asserted=True)) == {"otitis media"}
    # the verdict must be in the condition's own clause: «ولی» or a full stop ends it
    assert set(lookalikes.find("گوش میانی عفونت کرده. حالش طبیعی نیست", asserted=True)) == {"otitis media"}
