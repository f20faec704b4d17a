"""Hostile text: questions and passages built to stall a regex, break citation parsing or be quoted as links.

Work per question must grow linearly with its length. That is checked two ways without timing
anything: every pattern run on a question or a passage has only bounded repeats (so the work per
start position is a constant), and a subprocess runs every text path on 100,000-character hostile
inputs under a generous timeout (a quadratic rule took about 400 s on 100,000 digits).
BENCHMARKS.md (`hostile-inputs`) has the times.
"""

import re
import re._constants as sre
import re._parser as sre_parse
import subprocess
import sys

import pytest

from conftest import DIABETES_Q
from gaokerena_rag import AssistantConfig, GaokerenaAssistant
from gaokerena_rag.assistant import QuestionTooLongError
from gaokerena_rag.citations import CITATION, check, cite, drop_invalid, parse_citations
from gaokerena_rag.documents import ScoredPassage
from gaokerena_rag.query import Query
from gaokerena_rag.generators.extractive import ExtractiveGenerator


def unbounded_repeats(pattern: re.Pattern) -> list[str]:
    found = []

    def walk(items):
        for op, av in items:
            if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
                if av[1] == sre.MAXREPEAT:
                    found.append(f"{op} min={av[0]}")
                walk(av[2])
            elif op == sre.SUBPATTERN:
                walk(av[-1])
            elif op == sre.BRANCH:
                for branch in av[1]:
                    walk(branch)
            elif op in (sre.ASSERT, sre.ASSERT_NOT):
                walk(av[1])
            elif op == sre.ATOMIC_GROUP:
                walk(av)

    walk(sre_parse.parse(pattern.pattern, pattern.flags))
    return found


def question_patterns():
    from gaokerena_rag import injection, safety
    from ui import render

    yield from (p for _c, p in safety._COMPILED)
    yield from (p for _c, p in safety._EXCLUDED)
    yield safety._HEDGE
    yield injection._STRONG
    yield from injection._WEAK
    yield injection._SPELLED
    yield injection._LATIN_WITH_DIGITS
    yield CITATION
    yield render._SAFE_URL


def test_patterns_run_on_questions_and_passages_have_only_bounded_repeats():
    offenders = {p.pattern[:60]: unbounded_repeats(p) for p in question_patterns() if unbounded_repeats(p)}
    assert offenders == {}


HOSTILE_SCRIPT = r"""
import sys
from gaokerena_rag.safety import red_flags
from gaokerena_rag.normalize import normalize, strip_courtesies, PersianTokenizer
from gaokerena_rag.chunking import Chunker, split_sentences
from gaokerena_rag.citations import check, cite, drop_invalid, parse_citations
from gaokerena_rag.injection import planted_instruction
from gaokerena_rag.prompts import neutralize
from gaokerena_rag.documents import ScoredPassage
from ui.render import link_citations, text_html
n = 100_000
shown = [ScoredPassage(n=i, pid=i, doc_id=f"d{i}", passage_id=f"d{i}#0", title="", text="متن", score=1.0)
         for i in range(1, 6)]
texts = {"digits": "1" * n, "persian digits": "۱" * n, "pills": "۱" * n + " بسته", "word run": "درد" * (n // 3),
         "spaces": "با" + " " * n + "x", "marks": "!" * n, "brackets": "[" + "1," * (n // 2),
         "tags": "<source" * (n // 7), "latin": "a" + " " * n, "spaced letters": "ا " * (n // 2),
         "zwnj": "\u200c" * n, "citations": "[1]" * (n // 3)}
for name, text in texts.items():
    red_flags(text); normalize(text); strip_courtesies(text); PersianTokenizer()(text)
    PersianTokenizer(ngram=4)(text); split_sentences(text); Chunker().chunk(text); parse_citations(text)
    drop_invalid(text, 5); cite(text, [1]); check(text, ["متن"]); planted_instruction(text); neutralize(text)
    link_citations(text, shown); text_html(text)
    print(name, "ok", flush=True)
"""


def test_every_text_path_finishes_on_100k_character_hostile_inputs():
    # a guard against a hang, not a speed target: linear code does all of this in seconds
    done = subprocess.run([sys.executable, "-c", HOSTILE_SCRIPT], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.count(" ok") == 12


def test_a_question_over_the_limit_is_refused_in_persian_and_english(assistant):
    with pytest.raises(QuestionTooLongError) as err:
        assistant.ask("۱" * 50_000)
    assert "پرسش بیش از اندازه بلند است" in str(err.value) and "too long (50,000 characters" in str(err.value)
    assert err.value.limit == AssistantConfig().max_question_chars == 10_000
    roomy = GaokerenaAssistant(assistant.retriever, config=AssistantConfig(max_question_chars=60_000))
    answer = roomy.ask(DIABETES_Q + " " + "۱" * 50_000)  # a raised limit is honoured, and the answer still comes
    assert answer.sources and "poisoning" not in answer.emergency_categories
    with pytest.raises(ValueError, match="empty"):
        assistant.ask(" \n ")


def test_a_digit_run_in_brackets_is_text_not_a_citation():
    huge = "[" + "1" * 5000 + "]"
    assert parse_citations(f"متن {huge} و [2]") == [2]
    report = check(f"قرص آهن را با آب پرتقال بخورید {huge}.", ["قرص آهن را با آب پرتقال بخورید."])
    assert report.sentences[0].cited == [] and huge in report.text
    assert drop_invalid(huge, 3) == (huge, 0)
    assert parse_citations("[1, 2, 3]") == [1, 2, 3] and parse_citations("[۱۲]") == [12]
    assert parse_citations("[1234]") == []  # sources are numbered 1..k: four digits is no citation


def test_a_passage_s_own_citation_markers_never_become_links_to_other_cards():
    passage = "کم‌خونی فقر آهن باعث خستگی و رنگ‌پریدگی می‌شود [1][2][3]. قرص آهن را با آب پرتقال بخورید [۴]."
    sources = [ScoredPassage(n=1, pid=1, doc_id="a", passage_id="a#0", title="کم‌خونی", source="t", text=passage,
                      score=1.0, scores={"dense": 0.9})]
    text = "".join(ExtractiveGenerator().generate(Query.make("کم خونی فقر آهن چه علائمی دارد؟"), sources))
    assert "کم‌خونی فقر آهن باعث خستگی" in text
    assert parse_citations(text) == [1] and "[2]" not in text and "[3]" not in text and "[۴]" not in text
    assert cite("خستگی می‌شود!!!", [1]) == "خستگی می‌شود [1]!!!" and cite("!" * 5, [2]) == " [2]!!!!!"
