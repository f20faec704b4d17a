"""``GaokerenaAssistant``: grounded Persian answers with checked citations, and ``Answer``.

The way of one question: red flags (phrase rules, then the semantic classifier, whose
hit alone is dropped when the question is off the sources' domain) → retrieve → the
emergency notice first → abstain if the evidence is thin →
generate (streamed, citations to non-sources dropped sentence by sentence) →
check every sentence against the sources it cites → ``Answer``. Every step is
timed. Nothing here touches the network unless the configured generator is a
remote endpoint.
"""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from . import citations
from .config import AssistantConfig
from .documents import Source
from .generators import Generator, load_generator
from .generators.extractive import FRAMING
from .index import IndexSettings
from .injection import planted_instruction
from .retrieval import HybridRetriever, RetrievedPassage
from .safety import PHYSICIAN_NOTICE, RedFlagDetector, RedFlags, emergency_notice, suicide_notice
from .tfidf_store import TfidfSide

ABSTAIN_TEXT = ("منبع معتبری که به این پرسش پاسخ دهد پیدا نشد، پس پاسخی نمی‌سازم. "
                "نزدیک‌ترین منابعی که یافتم (برای مطالعه، نه به عنوان پاسخ):")
_SENTENCE_END = re.compile(r"[.؟?!؛\n]")


class QuestionTooLongError(ValueError):
    """A question longer than ``AssistantConfig.max_question_chars`` (Persian and English message)."""

    def __init__(self, length: int, limit: int):
        self.length, self.limit = length, limit
        super().__init__(f"پرسش بیش از اندازه بلند است ({length:,} نویسه؛ حداکثر {limit:,}). لطفاً آن را کوتاه‌تر "
                         f"بنویسید. / The question is too long ({length:,} characters; at most {limit:,}): "
                         "shorten it, or raise max_question_chars in the configuration.")


def check_question(question: object, limit: int | None) -> str:
    """The question if it can be answered; a clear ``ValueError`` if it is empty or too long."""
    if not isinstance(question, str) or not question.strip():
        raise ValueError("پرسش خالی است. / the question is empty")
    if limit is not None and len(question) > limit:
        raise QuestionTooLongError(len(question), limit)
    return question


@dataclass
class Answer:
    """A Persian answer, its numbered sources and how well each sentence is grounded."""

    question: str
    text: str
    sources: list[Source]
    citations: list[citations.SentenceCheck]
    grounding: float
    abstained: bool = False
    abstain_reason: str | None = None
    emergency: str | None = None
    emergency_categories: list[str] = field(default_factory=list)
    notice: str = PHYSICIAN_NOTICE
    removed_citations: int = 0
    # retrieved sources left out because they speak to the assistant (a planted instruction)
    withheld: list[dict[str, str]] = field(default_factory=list)
    # seconds by step: embed_s (the one query embedding), safety_s, retrieve_s, generate_s, check_s, total_s
    timings: dict[str, float] = field(default_factory=dict)
    model: str = ""
    index: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def evidence(results: Sequence[RetrievedPassage | Source], signal: str) -> float:
    """The best raw score on ``signal`` among the retrieved passages (what abstention compares)."""
    return max((r.scores.get(signal, 0.0) for r in results), default=0.0)


def to_source(n: int, r: RetrievedPassage) -> Source:
    return Source(n=n, doc_id=r.doc_id, passage_id=r.passage_id, title=r.title, source=r.source, url=r.url,
                  passage=r.text, score=r.score, scores=dict(r.scores))


class GaokerenaAssistant:
    """Ask Persian medical questions of an index; answers cite numbered sources."""

    def __init__(self, retriever: HybridRetriever, generator: Generator | None = None,
                 config: AssistantConfig | None = None):
        self.retriever = retriever
        self.config = (config or AssistantConfig()).calibrated(retriever.calibration)
        self.generator = generator or self._default_generator()
        self.red_flags = RedFlagDetector.from_config(self.config.red_flag_classifier, self.retriever.embedder,
                                                     self.config.retrieval.max_embedded_chars)

    @classmethod
    def from_index(cls, path: str | Path, generator: Generator | None = None,
                   config: AssistantConfig | None = None) -> "GaokerenaAssistant":
        config = config or AssistantConfig()
        retriever = HybridRetriever.from_index(path, config=config.retrieval, threads=config.embedder_threads)
        return cls(retriever, generator, config)

    def _default_generator(self) -> Generator:
        side = self.retriever.files.lexical.get("char4")
        return load_generator(self.config.generator, lexical=side if isinstance(side, TfidfSide) else None)

    def retrieve(self, question: str, k: int | None = None) -> list[Source]:
        """The numbered sources an answer to ``question`` would use."""
        return self._sources(question, k or self.config.k)[0]

    def _sources(self, question: str, k: int, vector=None) -> tuple[list[Source], list[dict[str, str]]]:
        """The top ``k`` sources, and the retrieved ones withheld because they speak to the assistant."""
        results, withheld = [], []
        for r in self.retriever.retrieve(question, k + self.config.spare_sources, vector):
            found = planted_instruction(f"{r.title}\n{r.text}")
            if found:  # a source that gives the assistant orders is data nobody should act on
                withheld.append({"doc_id": r.doc_id, "passage_id": r.passage_id, "found": found})
            elif len(results) < k:
                results.append(r)
        return [to_source(i, r) for i, r in enumerate(results, start=1)], withheld

    def ask(self, question: str, *, k: int | None = None, history: Sequence[dict] | None = None) -> Answer:
        answer = None
        for piece in self.stream(question, k=k, history=history):
            if isinstance(piece, Answer):
                answer = piece
        assert answer is not None
        return answer

    def stream(self, question: str, *, k: int | None = None, history: Sequence[dict] | None = None,
               on_sources: Callable[[list[Source], str | None], None] | None = None) -> Iterator[str | Answer]:
        """Yield text pieces as they are written, then the full ``Answer``.

        ``on_sources(sources, emergency_notice)`` is called once retrieval and the red-flag
        check are done, before the first piece, so a page can show the sources and the
        emergency banner while the answer is still being written.
        """
        cfg = self.config
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        check_question(question, cfg.max_question_chars)
        vector = None
        if self.retriever.embedder is not None and self.retriever.embedder is self.red_flags.embedder \
                and self.retriever.config.strip_courtesies and self.retriever.config.active("dense") > 0:
            # one query embedding (of the question without courtesies) serves both
            vector = self.retriever.embedder.embed_queries([self.retriever.dense_query_text(question)])[0]
            timings["embed_s"] = time.perf_counter() - t0
        ts = time.perf_counter()
        flags = self.red_flags.detect(question, vector)
        timings["safety_s"] = time.perf_counter() - ts

        t1 = time.perf_counter()
        sources, withheld = self._sources(question, k or cfg.k, vector)
        timings["retrieve_s"] = time.perf_counter() - t1
        best = evidence(sources, cfg.evidence_signal)
        if flags.semantic_only and best < cfg.min_evidence:
            # the classifier alone is not trusted on a question the medical sources do not cover
            flags = RedFlags()
        notice = None
        if flags.emergency:
            notice = (suicide_notice(cfg.emergency_number, cfg.suicide_helpline) if "suicide" in flags.categories
                      else emergency_notice(cfg.emergency_number))
        if on_sources is not None:
            on_sources(sources, notice)
        if notice:
            yield notice + "\n\n"

        base = dict(question=question, sources=sources, emergency=notice,
                    emergency_categories=list(flags.categories), model=self.generator.name, withheld=withheld,
                    index=str(self.retriever.files.path))
        if best < cfg.min_evidence:
            listing = "\n".join(f"[{s.n}] {s.title or s.doc_id}" for s in sources[:3])
            body = ABSTAIN_TEXT + ("\n" + listing if listing else "")
            yield body + "\n\n" + PHYSICIAN_NOTICE
            timings["total_s"] = time.perf_counter() - t0
            text = "\n\n".join(x for x in (notice, body, PHYSICIAN_NOTICE) if x)
            yield Answer(text=text, citations=[], grounding=1.0, abstained=True,
                         abstain_reason=f"best {cfg.evidence_signal} score {best:.3f} < {cfg.min_evidence}", timings=timings, **base)
            return

        t2 = time.perf_counter()
        written, buffer = [], ""
        for piece in self.generator.generate(question, sources, history):
            buffer += piece
            # release whole sentences only, with citations to non-sources already dropped
            last = max((m.end() for m in _SENTENCE_END.finditer(buffer)), default=0)
            if last:
                ready, buffer = buffer[:last], buffer[last:]
                written.append(ready)
                yield citations.drop_invalid(ready, len(sources))[0]
        if buffer.strip():
            written.append(buffer)
            yield citations.drop_invalid(buffer, len(sources))[0]
        timings["generate_s"] = time.perf_counter() - t2

        t3 = time.perf_counter()
        embed = None
        if self.retriever.embedder is not None:  # sentences and passages, capped as the index embeds passages
            cap = self.retriever.manifest["chunking"].get("embed_max_chars") or IndexSettings().embed_max_chars
            embed = lambda texts: self.retriever.embedder.embed_passages([t[:cap] for t in texts])  # noqa: E731
        report = citations.check("".join(written), [s.passage for s in sources], framing=[FRAMING],
                                 thresholds=cfg.support, embed=embed)
        timings["check_s"] = time.perf_counter() - t3
        yield "\n\n" + PHYSICIAN_NOTICE
        timings["total_s"] = time.perf_counter() - t0
        text = "\n\n".join(x for x in (notice, report.text, PHYSICIAN_NOTICE) if x)
        yield Answer(text=text, citations=report.sentences, grounding=report.grounding,
                     removed_citations=report.removed, timings=timings, **base)
