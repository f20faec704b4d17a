"""One progress display for a build: the estimate it makes, the bar it draws, the lines it writes."""

import io
import re

from gaokerena_rag.progress import BuildProgress


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def _build(progress, clock, seconds_per_passage=0.5, lexical_seconds=20.0):
    """A build of 200 documents read in 10 s, 400 passages embedded after a 5 s start-up, one lexical side."""
    progress.plan("reading", "embedding", "bm25-words")
    with progress.stage("reading", unit="documents") as count:
        for _ in range(200):
            clock.t += 0.05
            count(1)
    progress.expect("bm25-words", lexical_seconds)
    with progress.stage("embedding", 400, "passages", announce=True) as count:
        clock.t += 5.0  # the model loading: before the first batch
        for _ in range(25):
            clock.t += 16 * seconds_per_passage
            count(16)
    with progress.stage("bm25-words", 400, "passages") as count:
        for _ in range(400):
            clock.t += lexical_seconds / 400
            count(1)
    progress.finish("400 passages embedded")


def test_the_time_left_is_unknown_until_every_stage_ahead_is_priced_then_it_is_measured():
    clock = Clock()
    p = BuildProgress(stream=io.StringIO(), bar=False, clock=clock, timing_items=32, timing_seconds=10.0)
    p.plan("reading", "embedding", "bm25-words")
    with p.stage("reading", unit="documents") as count:
        clock.t += 10.0
        count(200)
        assert p.remaining() is None  # reading has no count to go by, and embedding is not priced
    p.expect("bm25-words", 20.0)
    with p.stage("embedding", 400, "passages") as count:
        clock.t += 5.0
        count(16)  # the first batch: carries the start-up, which is not extrapolated
        assert p.remaining() is None
        clock.t += 16.0
        count(32)  # 32 passages in 16 s after the first batch: 0.5 s each
        assert abs(p.remaining() - (352 * 0.5 + 20)) < 1e-6  # what is left of it, and bm25 as priced
        clock.t += 80.0
        count(80)  # the machine slows to 1 s a passage: the estimate follows it
        assert abs(p.remaining() - (272 * (96 / 112) + 20)) < 1e-6


def test_lines_when_not_a_terminal_are_few_and_say_the_estimate():
    clock, out = Clock(), io.StringIO()
    _build(BuildProgress(label="knowledge base", stream=out, bar=False, clock=clock, timing_items=32,
                         timing_seconds=10.0, refresh_seconds=0.0), clock)
    lines = out.getvalue().splitlines()
    assert "\r" not in out.getvalue() and len(lines) <= 10, lines
    assert lines[0] == "knowledge base: reading 200 documents (10 s)"
    # timed after the first batch: 32 passages in 16 s; the build then has 352 x 0.5 s + 20 s to go
    eta = next(l for l in lines if "left on this machine" in l)
    assert eta.startswith("knowledge base: about 3 min left") and "timed on 32 of 400 passages" in eta
    quarters = [l for l in lines if re.search(r"embedding \d+/400 passages", l)]
    assert len(quarters) == 3 and "left" in quarters[0]
    assert lines[-1] == "knowledge base: 400 passages embedded in about 4 min"


def test_one_bar_that_ends_at_100_percent(tmp_path):
    clock, out = Clock(), io.StringIO()
    _build(BuildProgress(label="knowledge base", stream=out, bar=True, clock=clock, timing_items=32,
                         timing_seconds=10.0, refresh_seconds=0.0), clock)
    frames = [f for f in re.split(r"[\r\n]", out.getvalue()) if f.strip()]
    bars = [f for f in frames if not f.startswith("knowledge base: about")]
    assert all(f.startswith("knowledge base: ") for f in bars), set(f[:20] for f in bars)
    assert any("reading 200 documents" in f for f in bars)
    percents = [int(m.group(1)) for f in bars if (m := re.match(r"knowledge base: +(\d+)%", f))]
    assert percents and percents == sorted(percents) and percents[-1] == 100
    assert bars[-1].endswith("400 passages embedded")
    assert out.getvalue().count("left on this machine") == 1


def test_a_stage_priced_too_low_is_timed_on_itself_once_it_can_be():
    clock = Clock()
    p = BuildProgress(stream=io.StringIO(), bar=False, clock=clock, timing_items=8, timing_seconds=1.0)
    p.expect("bm25-words", 1.0)  # priced at 1 s from a sample; really 0.1 s a passage
    with p.stage("bm25-words", 400, "passages") as count:
        count(1)
        clock.t += 30.0
        assert p.remaining() == 0.0  # past its price, before it is timed: never negative
        for _ in range(10):
            clock.t += 0.1
            count(1)
        assert abs(p.remaining() - (400 - 11) * (31.0 / 10)) < 1e-6


def test_disabled_progress_says_nothing():
    out = io.StringIO()
    clock = Clock()
    _build(BuildProgress(stream=out, enabled=False, clock=clock), clock)
    assert out.getvalue() == ""
