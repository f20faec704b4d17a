from hypothesis import given, settings
from hypothesis import strategies as st

from gaokerena_rag.normalize import ZWNJ, PersianTokenizer, normalize, stopwords, strip_courtesies


def test_arabic_letters_become_persian():
    assert normalize("كيك") == "کیک"
    assert normalize("علي") == "علی"
    assert normalize("مدرسة") == "مدرسه"


def test_digits_unified():
    assert normalize("۱۲۳ ٤٥٦ 789") == "123 456 789"


def test_presentation_forms_tatweel_diacritics_and_case():
    assert normalize("ﻻ") == "لا"  # lam-alef ligature (presentation form)
    assert normalize("ســـلام") == "سلام"
    assert normalize("مُحَمَّد") == "محمد"
    assert normalize("Metformin ASPIRIN") == "metformin aspirin"


def test_zwnj_and_spaces_consistent():
    assert normalize("می\u200c\u200cخواهم") == "می\u200cخواهم"
    assert normalize("می\u200c خواهم") == "می خواهم"
    assert normalize("  سر   درد \n\t دارم ") == "سر درد دارم"
    assert normalize("\u200cسلام\u200c") == "سلام"
    assert normalize("کتاب\u200dها") == "کتابها"


def test_non_string_is_empty():
    assert normalize(None) == ""
    assert normalize(12) == ""


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=80))
def test_never_raises_and_idempotent(text):
    once = normalize(text)
    assert normalize(once) == once


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="كيىيکیآاأإؤةۀـًٌٍَُِّْ\u200c\u200d ۰۱۲٣٤ abcABCسلامدردقند.؟!", max_size=60))
def test_idempotent_on_persian_mix(text):
    once = normalize(text)
    assert normalize(once) == once
    assert "ك" not in once and "ي" not in once and "ـ" not in once


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_tokenizer_never_raises(text):
    for tok in (PersianTokenizer(), PersianTokenizer(zwnj="join", affixes="none", stopwords=False)):
        assert all(t and " " not in t and ZWNJ not in t for t in tok(text))


def test_tokenizer_stopwords_and_affixes():
    tok = PersianTokenizer()
    tokens = tok("سلام دکتر، کتاب‌های پزشکی و داروها را خواندم")
    assert "سلام" not in tokens and "دکتر" not in tokens and "و" not in tokens
    assert "کتاب" in tokens and "دارو" in tokens and "پزشکی" in tokens
    # spelling variants meet in one token
    assert tok("قرص هاي آهن") == tok("قرص‌های اهن")
    assert PersianTokenizer(affixes="none")("داروها") == ["داروها"]
    assert PersianTokenizer(zwnj="split")("می‌خواهم") == ["خواهم"] and tok("می‌خواهم") == ["میخواهم"]
    assert PersianTokenizer(ngram=4)("سردرد دارم") == ["<سرد", "سردر", "ردرد", "درد>"]  # دارم is a stopword
    assert PersianTokenizer(ngram=4)("قند") == ["<قند", "قند>"]
    assert "سلام" in stopwords()


def test_tokenizer_version_names_options():
    assert PersianTokenizer().version != PersianTokenizer(zwnj="split").version
    assert PersianTokenizer().version != PersianTokenizer(ngram=4).version
    assert PersianTokenizer(ngram=4).name == "char4" and PersianTokenizer().name == "words"
    assert PersianTokenizer.from_dict(PersianTokenizer(affixes="none").to_dict()) == PersianTokenizer(affixes="none")


def test_strip_courtesies():
    assert strip_courtesies("سلام خانم دكتر وقت بخير. من سردرد دارم ممنون") == "من سردرد دارم"
    assert strip_courtesies("باسلام،قند خونم بالاست") == "قند خونم بالاست"
    assert strip_courtesies("سلامتی من مهم است") == "سلامتی من مهم است"  # a word, not the greeting
    assert strip_courtesies("سلام") == "سلام"  # nothing else left: unchanged


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_strip_courtesies_never_raises_or_empties(text):
    out = strip_courtesies(text)
    assert isinstance(out, str) and (out.strip() or not text.strip() or out == text)
