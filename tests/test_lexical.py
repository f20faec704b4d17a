"""The lexical sides on their own: BM25 over words, TF-IDF over character n-grams; save/load round trips."""

import math

import numpy as np
import pytest

from gaokerena_rag.bm25_store import BM25Side
from gaokerena_rag.index import LexicalSpec
from gaokerena_rag.normalize import PersianTokenizer
from gaokerena_rag.tfidf_store import TfidfSide

DOCS = [(10, "درد سر و سردرد شدید"), (11, "قند خون بالا"), (12, "فشار خون بالا و سردرد")]


def test_tfidf_cosine_values(tmp_path):
    tok = PersianTokenizer(stopwords=False, affixes="none")
    side = TfidfSide.build(DOCS, tok)
    scores, pids = side.search("قند خون", 5)
    assert list(pids) == [11, 12]
    # by hand: idf = ln((1+3)/(1+df)) + 1; doc 11 = {قند, خون, بالا}
    idf = {t: math.log(4 / (1 + df)) + 1 for t, df in {"قند": 1, "خون": 2, "بالا": 2}.items()}
    doc = np.array([idf["قند"], idf["خون"], idf["بالا"]])
    query = np.array([idf["قند"], idf["خون"]])
    expected = (doc[:2] @ query) / (np.linalg.norm(doc) * np.linalg.norm(query))
    assert scores[0] == pytest.approx(expected, rel=1e-5)
    side.save(tmp_path / "t")
    again = TfidfSide.load(tmp_path / "t")
    s2, p2 = again.search("قند خون", 5)
    assert list(p2) == list(pids) and np.allclose(s2, scores)
    assert again.search("کلمه‌ای که نیست", 5)[1].size == 0


def test_char_grams_match_spelling_variants():
    spec = LexicalSpec(PersianTokenizer(ngram=4), "tfidf")
    side = spec.build([(1, "سردردهای میگرنی"), (2, "دیابت و قند خون")])
    assert side.search("سر دردم میگرنیه", 2)[1][0] == 1  # split word, informal ending
    words = LexicalSpec(PersianTokenizer()).build([(1, "سردردهای میگرنی"), (2, "دیابت و قند خون")])
    assert words.search("سر دردم میگرنیه", 2)[1].size == 0  # words alone miss it


def test_bm25_side_round_trip(tmp_path):
    side = BM25Side.build(DOCS, PersianTokenizer())
    scores, pids = side.search("سردرد", 3)
    assert set(pids) == {10, 12} and scores[0] > 0
    side.save(tmp_path / "b")
    again = BM25Side.load(tmp_path / "b")
    assert list(again.search("سردرد", 3)[1]) == list(pids)


def test_lexical_spec_validation_and_round_trip():
    spec = LexicalSpec(PersianTokenizer(ngram=4), "tfidf")
    assert spec.folder == "tfidf-char4" and LexicalSpec.from_dict(spec.to_dict()) == spec
    with pytest.raises(ValueError):
        LexicalSpec(PersianTokenizer(), "bm42")
