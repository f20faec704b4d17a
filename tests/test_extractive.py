"""The extractive generator on hand-made sources: what it quotes, where the citation goes,
how the dense signal of a source weighs, and that the checker sees each quoted sentence whole."""

from gaokerena_rag.citations import check
from gaokerena_rag.documents import ScoredPassage
from gaokerena_rag.query import Query
from gaokerena_rag.generators.extractive import FRAMING, ExtractiveGenerator

QUESTION = "برای کنترل قند خون در دیابت نوع دو چه کنم؟"


def source(n: int, text: str, dense: float = 0.85) -> ScoredPassage:
    return ScoredPassage(n=n, pid=n, doc_id=f"d{n}", passage_id=f"d{n}#0", title="", text=text,
                  score=1.0 / n, scores={"dense": dense})


def test_citation_goes_before_closing_marks_and_each_sentence_is_checked_whole():
    sources = [
        source(1, "برای کنترل قند خون رژیم کم شیرینی، نان سفید، برنج و.. "
                  "قند خون ناشتا را هر هفته اندازه بگیرید!! موفق باشید\nسلام، وقت شما هم بخیر"),
        source(2, "در دیابت نوع دو ورزش منظم قند خون را پایین می‌آورد (مثل پیاده‌روی و....)\n"
                  "آیا دارویی مصرف می‌کنید؟"),
    ]
    text = "".join(ExtractiveGenerator().generate(Query.make(QUESTION), sources))
    lines = text.strip().split("\n")
    assert lines[0] == FRAMING
    assert "نان سفید، برنج و [1]..\n" in text and "اندازه بگیرید [1]!!" in text
    for not_an_answer in ("موفق باشید", "آیا دارویی", "وقت شما"):  # sign-off, question back, greeting
        assert not_an_answer not in text
    report = check(text, [s.text for s in sources], framing=[FRAMING])
    claims = [s for s in report.sentences if s.claim]
    assert len(claims) == len(lines) - 1 == 3  # one checked sentence per quoted sentence
    assert all(c.supported for c in claims) and report.grounding == 1.0
    assert any(c.cited == [2] and c.sentence.endswith("و....) [2].") for c in claims)


def test_dense_signal_of_the_source_weighs_in_the_choice():
    same = "قند خون در دیابت نوع دو با رژیم و ورزش کنترل می‌شود."
    other = "قند خون در دیابت نوع دو با دارو و پایش کنترل می‌شود."
    one = ExtractiveGenerator(max_sentences=1, rank_prior=0.0)
    first = "".join(one.generate(Query.make(QUESTION), [source(1, same, dense=0.80), source(2, other, dense=0.90)]))
    assert "[2]" in first and "[1]" not in first
    second = "".join(one.generate(Query.make(QUESTION), [source(1, same, dense=0.90), source(2, other, dense=0.80)]))
    assert "[1]" in second and "[2]" not in second
    flat = ExtractiveGenerator(max_sentences=1, rank_prior=0.0, dense_weight=0.0)
    answers = {"".join(flat.generate(Query.make(QUESTION), [source(1, same, d1), source(2, other, d2)]))
               for d1, d2 in ((0.8, 0.9), (0.9, 0.8))}
    assert len(answers) == 1  # without it, dense scores change nothing
