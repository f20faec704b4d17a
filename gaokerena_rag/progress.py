"""What a long build shows while it runs: one bar over all its stages, or a few plain lines.

A build has stages (reading, chunking, embedding, one per lexical side, saving). ``BuildProgress``
shows them as **one** tqdm bar on a terminal, as a few summary lines where the output is not a
terminal (a log file, CI), or not at all. Library code never draws bars of its own under it: it
reports through a ``Counter`` (a callable taking how many items were just done), and libraries
that would draw their own (bm25s, sentence-transformers, Ray Data) are told not to.

The remaining time is measured on this machine, not a constant: a stage with a known number of
items is timed on its own items from its first report on (what comes before it, such as loading
a model or starting workers, is not extrapolated), and its rate is measured again at every report,
so the estimate follows the machine; a later stage is priced in advance with ``expect`` (timed on a
sample). The bar runs on wall-clock seconds: its total is the time spent plus the time estimated
to remain, so its percentage and remaining time say the same thing. Until every stage still to
come has a price, it shows only what is being done and for how long.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from typing import Callable, TextIO

Counter = Callable[[int], None]  # told how many items were just done


def counter(progress: "bool | Counter | None", total: int | None, desc: str, unit: str
            ) -> tuple[Counter, Callable[[], None]]:
    """``(count, close)`` for library code: the caller's counter, its own tqdm bar (``True``), or nothing."""
    if callable(progress):
        return progress, lambda: None
    if not progress:
        return (lambda _n: None), (lambda: None)
    from tqdm.auto import tqdm

    bar = tqdm(total=total, desc=desc, unit=unit)
    return bar.update, bar.close


def duration(seconds: float) -> str:
    """A rough, readable duration: ``0.4 s``, ``40 s``, ``about 3 min``, ``about 1 h 20 min``."""
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"about {minutes} min"
    return f"about {minutes // 60} h {minutes % 60:02d} min"


@dataclass
class _Stage:
    name: str
    unit: str
    total: int | None
    started: float
    announce: bool = False
    brief: bool = False  # no count, but short: the estimate stands while it runs
    prior: float | None = None  # its price from ``expect``, until it is timed itself
    done: int = 0
    first: tuple[float, int] | None = None  # (time, items) of the first report
    timed: bool = False  # enough of it has been timed to extrapolate
    said: set = field(default_factory=set)  # quarters already reported as lines

    def cost(self, now: float) -> float | None:
        """Measured seconds per item since the first report, once the stage is timed."""
        if not self.timed:
            return None
        t0, n0 = self.first
        return (now - t0) / max(self.done - n0, 1)

    def remaining(self, now: float) -> float | None:
        if self.brief:
            return 0.0
        cost = self.cost(now)
        if cost is None or self.total is None:
            return None if self.prior is None else max(self.prior - (now - self.started), 0.0)
        return max(self.total - self.done, 0) * cost


class BuildProgress:
    """One build's progress: a bar on a terminal, summary lines elsewhere, or nothing."""

    def __init__(self, label: str = "index", stream: TextIO | None = None, enabled: bool = True,
                 bar: bool | None = None, timing_items: int = 8, timing_seconds: float = 10.0,
                 clock: Callable[[], float] = time.perf_counter, refresh_seconds: float = 0.25):
        """``bar``: draw a bar (default: when ``stream`` is a terminal); ``timing_items`` and
        ``timing_seconds``: how much of a stage is timed, after its first report, before it is
        extrapolated (workers that start together report in a burst at first)."""
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self.bar_mode = (bar if bar is not None else _isatty(self.stream)) and enabled
        self.timing_items, self.timing_seconds = timing_items, timing_seconds
        self.clock = clock
        self.refresh_seconds = refresh_seconds
        self.started = clock()
        self.planned: dict[str, float | None] = {}  # stages still to come and their price (None: not yet known)
        self.current: _Stage | None = None
        self._bar = None
        self._shown_at = -1e9

    # ---- what callers say -------------------------------------------------------------
    def plan(self, *names: str) -> None:
        """Stages still to come, not yet priced: no remaining time is shown before they are."""
        for name in names:
            self.planned.setdefault(name, None)

    def expect(self, name: str, seconds: float) -> None:
        """The price of a stage still to come (timed on a sample)."""
        self.planned[name] = max(float(seconds), 0.0)

    def skip(self, name: str) -> None:
        """A planned stage that will not run after all."""
        self.planned.pop(name, None)

    def note(self, text: str) -> None:
        """A line of its own, above the bar."""
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.write(text, file=self.stream)
        else:
            print(text, file=self.stream, flush=True)

    def stage(self, name: str, total: int | None = None, unit: str = "items", announce: bool = False,
              brief: bool = False) -> "_StageScope":
        """Start a stage (ending the one before): use as ``with progress.stage(...) as count: count(n)``.
        ``announce``: once the stage is timed, say how long the whole build has left; ``brief``: a
        short stage without a count (saving), priced at nothing."""
        now = self.clock()
        self._end(now)
        self.current = _Stage(name, unit, total, now, announce=announce, brief=brief,
                              prior=self.planned.pop(name, None))
        self._show(now, force=True)
        return _StageScope(self, self.current)

    def finish(self, summary: str = "done") -> None:
        """End the last stage and the bar (which then reads 100%, with ``summary`` beside it)."""
        if not self.enabled:
            return
        now = self.clock()
        self._end(now)
        if self._bar is not None:
            self._bar.bar_format = "{desc}: {percentage:3.0f}%|{bar}| {elapsed}{postfix}"
            self._bar.total = max(now - self.started, 1e-9)
            self._bar.set_postfix_str(summary, refresh=False)
            self._bar.update(self._bar.total - self._bar.n)
            self._bar.close()
            self._bar = None
        else:
            print(f"{self.label}: {summary} in {duration(now - self.started)}", file=self.stream, flush=True)

    def close(self) -> None:
        """Stop showing progress where it stands (a build that failed); nothing is said."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        self.current = None

    def remaining(self, now: float | None = None) -> float | None:
        """Estimated seconds the build has left, or None while a stage still to come has no price."""
        now = self.clock() if now is None else now
        ahead = self.current.remaining(now) if self.current is not None else 0.0
        if ahead is None or any(v is None for v in self.planned.values()):
            return None
        return ahead + sum(self.planned.values())

    # ---- inside ---------------------------------------------------------------------
    def _count(self, stage: _Stage, n: int) -> None:
        if not self.enabled or stage is not self.current:
            return
        now = self.clock()
        stage.done += n
        if stage.first is None:
            stage.first = (now, stage.done)
        elif not stage.timed and stage.total is not None and not stage.brief:
            t0, n0 = stage.first
            if stage.done - n0 >= self.timing_items and now - t0 >= self.timing_seconds:
                stage.timed = True
                if stage.announce:
                    self._announce(stage, now)
        self._show(now)

    def _announce(self, stage: _Stage, now: float) -> None:
        left = self.remaining(now)
        if left is not None:
            self.note(f"{self.label}: {duration(left)} left on this machine ({stage.name} timed on "
                      f"{stage.done - stage.first[1]:,} of {stage.total:,} {stage.unit}; the estimate "
                      "follows the machine as it goes)")

    def _end(self, now: float) -> None:
        stage, self.current = self.current, None
        if stage is not None and not self.bar_mode and self.enabled:
            what = f"{stage.name} {stage.done:,} {stage.unit}" if stage.done else stage.name
            print(f"{self.label}: {what} ({duration(now - stage.started)})", file=self.stream, flush=True)

    def _show(self, now: float, force: bool = False) -> None:
        if not self.enabled or (not force and now - self._shown_at < self.refresh_seconds):
            return
        self._shown_at = now
        stage, left, spent = self.current, self.remaining(now), now - self.started
        if not self.bar_mode:
            self._line(stage, now, left)
            return
        if self._bar is None:
            from tqdm.auto import tqdm

            columns, rows = _size(self.stream)
            self._bar = tqdm(total=None, desc=self.label, file=self.stream, ncols=columns, nrows=rows,
                             mininterval=0, miniters=0, bar_format="{desc}: {elapsed}{postfix}")  # we throttle
        # counted in seconds: the total is what was spent plus what is left, so tqdm's rate is one
        self._bar.bar_format = ("{desc}: {percentage:3.0f}%|{bar}| {elapsed}<{remaining}{postfix}"
                                if left is not None else "{desc}: {elapsed}{postfix}")
        self._bar.total = max(spent + left, 1e-9) if left is not None else None
        if stage is not None:
            counts = f"{stage.done:,}/{stage.total:,}" if stage.total is not None else f"{stage.done:,}"
            self._bar.set_postfix_str(stage.name if stage.brief else f"{stage.name} {counts} {stage.unit}",
                                      refresh=False)
        self._bar.update(spent - self._bar.n)

    def _line(self, stage: _Stage | None, now: float, left: float | None) -> None:
        """Not a terminal: a line at each quarter of a timed stage (the ends are said by ``_end``)."""
        if stage is None or not stage.timed or not stage.total or left is None:
            return
        quarter = int(4 * stage.done / stage.total)
        if 0 < quarter < 4 and quarter not in stage.said:
            stage.said.add(quarter)
            print(f"{self.label}: {stage.name} {stage.done:,}/{stage.total:,} {stage.unit}, "
                  f"{duration(now - self.started)} so far, {duration(left)} left", file=self.stream, flush=True)


class _StageScope:
    """The counter of one stage, and the ``with`` block it lives in."""

    def __init__(self, progress: BuildProgress, stage: _Stage):
        self.progress, self.stage = progress, stage

    def __call__(self, n: int = 1) -> None:
        self.progress._count(self.stage, n)

    def __enter__(self) -> "_StageScope":
        return self

    def __exit__(self, *exc) -> None:
        if exc[0] is not None:  # an error: leave the bar where it stopped
            self.progress.close()


def as_progress(progress: "bool | BuildProgress | None", label: str = "index",
                stream: TextIO | None = None) -> BuildProgress:
    """A build's ``progress`` argument as a ``BuildProgress``: ``True`` shows one, ``False`` nothing."""
    if isinstance(progress, BuildProgress):
        return progress
    return BuildProgress(label=label, stream=stream, enabled=bool(progress))


def _size(stream: TextIO) -> tuple[int, int]:
    """The terminal's (columns, rows); 100 x 24 where it reports none (a pseudo-terminal may say
    0 x 0, and tqdm then draws nothing)."""
    try:
        size = os.get_terminal_size(stream.fileno())
    except (AttributeError, ValueError, OSError):
        return 100, 24
    return size.columns or 100, size.lines or 24


def _isatty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
