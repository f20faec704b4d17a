"""Citation parsing and checking: ranges, Persian digits, numbers outside the sources, support."""

import numpy as np
import pytest

from gaokerena_rag.citations import check, parse_citations

PASSAGES = [
    "متفورمین داروی خط اول دیابت نوع دو است و قند خون را پایین می‌آورد.",
    "ورزش منظم و کاهش وزن به کنترل قند خون کمک می‌کند.",
    "استامینوفن برای تب کودکان به اندازه وزن داده می‌شود.",
]


@pytest.mark.parametrize("text,expected", [
    ("جمله [1].", [1]),
    ("جمله [1, 3].", [1, 3]),
    ("جمله [1،3]", [1, 3]),
    ("جمله [2-4]", [2, 3, 4]),
    ("جمله [۲]", [2]),
    ("جمله [۱-۳] و [٢]", [1, 2, 3]),
    ("بدون ارجاع", []),
    ("[1] [1]", [1]),
    ("لینک [متن] نیست", []),
])
def test_parse(text, expected):
    assert parse_citations(text) == expected


def test_out_of_range_numbers_are_removed_and_counted():
    report = check("متفورمین داروی خط اول دیابت است [1, 7]. قند را پایین می‌آورد [9].", PASSAGES)
    assert report.removed == 2
    assert "[7]" not in report.text and "[9]" not in report.text and "[1]" in report.text
    assert report.sentences[0].cited == [1] and report.sentences[1].cited == []
    assert not report.sentences[1].supported  # its only citation was removed


def test_support_checked_against_the_cited_passage():
    text = ("متفورمین داروی خط اول دیابت نوع دو است [1]. "
            "استامینوفن برای تب کودکان به اندازه وزن داده می‌شود [1]. "
            "ورزش منظم به کنترل قند خون کمک می‌کند [2].")
    report = check(text, PASSAGES)
    assert [s.supported for s in report.sentences] == [True, False, True]  # the middle one cites the wrong source
    assert report.grounding == pytest.approx(2 / 3)


def test_uncited_sentence_is_unsupported_and_framing_is_not_a_claim():
    report = check("بر پایه‌ی منابع یافت‌شده:\nآنتی‌بیوتیک همیشه لازم است.", PASSAGES,
                   framing=["بر پایه‌ی منابع یافت‌شده:"])
    assert [s.claim for s in report.sentences] == [False, True]
    assert report.grounding == 0.0


def test_semantic_support_when_words_differ():
    def embed(texts):  # a toy embedder: the sentence and passage 1 point the same way
        return np.array([[1.0, 0.0] if "گلوکز" in t or "متفورمین" in t else [0.0, 1.0] for t in texts])

    text = "کاهش گلوکز سرم [1]."  # no content word in common with passage 1
    assert not check(text, PASSAGES).sentences[0].supported
    report = check(text, PASSAGES, embed=embed)
    assert report.sentences[0].supported and report.sentences[0].support == 1.0
    assert not check("کاهش گلوکز سرم [3].", PASSAGES, embed=embed).sentences[0].supported


def test_citation_after_the_closing_marks_belongs_to_its_sentence():
    text = "متفورمین داروی خط اول دیابت نوع دو است. [1]\nورزش منظم به کنترل قند خون کمک می‌کند.. [2]..\n"
    report = check(text, PASSAGES)
    assert [s.cited for s in report.sentences] == [[1], [2]]
    assert all(s.supported for s in report.sentences) and report.grounding == 1.0
