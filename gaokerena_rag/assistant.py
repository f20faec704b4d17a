"""``GaokerenaAssistant``: grounded Persian answers with checked citations.

The way of one question, in named stages, each timed:

1. ``prepare``: the retriever makes the ``Query`` once (normalized, tokens, its one embedding);
2. ``flag``: red flags (phrase rules, then the semantic classifier);
3. ``retrieve``: ``k + spare_sources`` scored passages;
4. ``screen``: the gates (``gates.py``) keep, drop or reorder sources, or abstain; a
   classifier-only red flag on a question the sources do not cover is dropped;
5. ``write``: under an emergency banner, the reviewed guidance for that emergency
   (``guidance.py``) and nothing composed; else the registered generator composes or
   generates, streamed sentence by sentence with citations to non-sources dropped;
6. ``check``: every sentence against the sources it cites as it streams (``verification``): one that
   fails is dropped or marked (``config.unsupported``); with none left, the extractive answer
   (``config.fallback_generator``) is written instead, and the answer says so → ``Answer``.

Nothing here touches the network unless the configured generator is a remote endpoint.
"""

from __future__ import annotations

import re
import time
from dataclasses import replace
from functools import cached_property
from pathlib import Path
from typing import Callable, Iterator, Sequence

from . import citations
from .answer import Answer
from .config import AssistantConfig
from .documents import ScoredPassage
from .gates import Screen, build_gates
from .generators import Generator, load_generator, sources_cited
from .guidance import EmergencyGuidance
from .index import IndexSettings
from .query import Query
from .retrieval import HybridRetriever
from .safety import PHYSICIAN_NOTICE, RedFlagDetector, RedFlags, emergency_notice, suicide_notice
from .sentence_rules import SentenceRules
from .verification import Verifier, fallback_note

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


class GaokerenaAssistant:
    """Ask Persian medical questions of an index; answers cite numbered sources."""

    def __init__(self, retriever: HybridRetriever, generator: Generator | None = None,
                 config: AssistantConfig | None = None):
        self.retriever = retriever
        self.config = (config or AssistantConfig()).calibrated(retriever.calibration)
        self._own_generator = generator is not None  # given, not the one the config names
        self.generator = generator or load_generator(self.config.generator, retriever)
        self.gates = build_gates(self.config.gates, self.config, retriever)
        self.rules = SentenceRules(retriever.lexicon, lookalikes=retriever.lookalikes)  # per-sentence `applicable`
        self.red_flags = RedFlagDetector.from_config(self.config.red_flag_classifier, self.retriever.embedder_for,
                                                     self.config.retrieval.max_embedded_chars)
        self.guidance = EmergencyGuidance.load(*(() if self.config.emergency_guidance == "default"
                                                 else (self.config.emergency_guidance,)))

    @classmethod
    def from_index(cls, path: str | Path, generator: Generator | None = None,
                   config: AssistantConfig | None = None) -> "GaokerenaAssistant":
        config = config or AssistantConfig()
        retriever = HybridRetriever.from_index(path, config=config.retrieval, threads=config.embedder_threads)
        return cls(retriever, generator, config)

    @property
    def k(self) -> int:
        """Sources given to the generator and shown with an answer (``config.retrieval.k``)."""
        return self.config.retrieval.k

    def retrieve(self, question: str | Query, k: int | None = None) -> list[ScoredPassage]:
        """The numbered sources an answer to ``question`` would use (before any abstention)."""
        query = question if isinstance(question, Query) else self.retriever.prepare(question)
        return self.screen(query, self.retriever.retrieve(query, (k or self.k) + self.config.spare_sources),
                           k)[0].sources

    def screen(self, query: Query, found: Sequence[ScoredPassage], k: int | None = None) -> tuple[Screen, str | None]:
        """The gates in order, stopping at the first abstention; kept sources numbered 1..; and the
        name of the gate that abstained (None when answering)."""
        gates = self.gates if not k or k == self.k else build_gates(
            self.config.gates, _with_k(self.config, k), self.retriever)
        sources, withheld, say = list(found), [], []
        for gate in gates:
            result = gate.screen(query, sources)
            sources, withheld = result.sources, withheld + result.withheld
            if result.abstain:
                return Screen(_numbered(sources), withheld, result.abstain, say + result.say), gate.name
            say += result.say
        return Screen(_numbered(sources), withheld, say=say), None

    def ask(self, question: str, *, k: int | None = None, history: Sequence[dict] | None = None) -> Answer:
        answer = None
        for piece in self.stream(question, k=k, history=history):
            if isinstance(piece, Answer):
                answer = piece
        assert answer is not None
        return answer

    def stream(self, question: str, *, k: int | None = None, history: Sequence[dict] | None = None,
               on_sources: Callable[[list[ScoredPassage], str | None], None] | None = None) -> Iterator[str | Answer]:
        """Yield text pieces as they are written, then the full ``Answer``.

        ``on_sources(sources, emergency_notice)`` is called once retrieval and the red-flag
        check are done, before the first piece, so a page can show the sources and the
        emergency banner while the answer is still being written.
        """
        cfg = self.config
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        check_question(question, cfg.max_question_chars)
        query = self.retriever.prepare(question)
        if query.vector is not None:
            timings["embed_s"] = time.perf_counter() - t0
        flags = self._timed(timings, "safety_s", self.red_flags.detect, query)
        found = self._timed(timings, "retrieve_s", self.retriever.retrieve, query,
                            (k or self.k) + cfg.spare_sources)
        screened, abstained_by = self._timed(timings, "gate_s", self.screen, query, found, k)
        if flags.semantic_only and abstained_by in ("evidence", "vocabulary"):
            flags = RedFlags()  # the classifier alone is not trusted on a question off the sources' domain
        notice = self._notice(flags)
        sources, withheld = screened.sources, screened.withheld
        cited = None if notice or screened.abstain else sources_cited(self.generator, query, sources)
        if cited:  # shown beside the answer: only the sources it cites
            sources, withheld = _only_cited(sources, withheld, cited, "no sentence of it applies")
            sources = _numbered(sources)
        if on_sources is not None:
            on_sources(sources, notice)
        if notice:
            yield notice + "\n\n"
        for line in [] if notice else screened.say:
            yield line + "\n\n"
        base = dict(question=question, sources=sources, emergency=notice, emergency_categories=list(flags.categories),
                    caveats=list(screened.say), model=self.generator.name, withheld=withheld,
                    index=str(self.retriever.files.path))
        if notice:  # under the banner: the reviewed guidance for the emergency, nothing composed
            # a classifier-only flag names its category by the nearest example: a guess, so only the lines
            # common to every emergency (and its own for suicidal thoughts, which are safe for any reader)
            shown = flags.categories if not flags.semantic_only else [c for c in flags.categories if c == "suicide"]
            body = "\n".join(self.guidance.lines(shown, cfg.emergency_number, cfg.suicide_helpline))
            yield body + "\n\n" + PHYSICIAN_NOTICE
            timings["total_s"] = time.perf_counter() - t0
            yield Answer(body=body, citations=[], grounding=1.0, guidance=True, timings=timings,
                         **{**base, "caveats": [], "sources": [] if screened.abstain else sources})
            return
        if screened.abstain:
            listing = "\n".join(f"[{s.n}] {s.title or s.doc_id}" for s in sources[:3])
            body = ABSTAIN_TEXT + ("\n" + listing if listing else "")
            yield body + "\n\n" + PHYSICIAN_NOTICE
            timings["total_s"] = time.perf_counter() - t0
            yield Answer(body=body, citations=[], grounding=1.0, abstained=True, abstain_reason=screened.abstain,
                         timings=timings, **base)
            return

        t2 = time.perf_counter()
        verifier = self._verifier(sources, query, timings, self.generator)
        for piece in self.write(query, sources, history):
            yield from verifier.feed(piece)
        yield from verifier.close()
        shown, fallback, note = verifier, None, ""
        if not verifier.supported and self.fallback is not None:  # nothing checked out: what the sources say
            fallback = self._verifier(sources, query, timings, self.fallback)
            pieces = [piece for s in self.write(query, sources, history, self.fallback)
                      for piece in fallback.feed(s)] + list(fallback.close())
            if fallback.supported:
                note = fallback_note(verifier.claims)
                yield note + "\n\n"
                yield from pieces
                shown = fallback
            else:
                fallback = None
        timings["generate_s"] = time.perf_counter() - t2 - timings.get("check_s", 0.0)
        yield "\n\n" + PHYSICIAN_NOTICE
        timings["total_s"] = time.perf_counter() - t0
        checks = ([citations.SentenceCheck(note, [], False, claim=False)] if note else []) + shown.checks
        body = ((note + "\n\n") if note else "") + shown.text.strip()
        claims = [c for c in checks if c.claim]
        used = {n for c in checks for n in c.cited}
        if cited is None and used:  # a model finds out what it cites as it writes: beside it, only those (numbers kept)
            base["sources"], base["withheld"] = _only_cited(sources, withheld, used, "not cited by the answer")
        verification = {"policy": cfg.unsupported, "claims": verifier.claims, "passed": verifier.passed,
                        "failed": len(verifier.failed), "fallback": self.fallback.name if fallback else None}
        yield Answer(body=body, citations=checks, unverified=verifier.failed, verification=verification,
                     grounding=sum(c.supported for c in claims) / len(claims) if claims else 1.0,
                     removed_citations=verifier.removed, timings=timings, **base)

    def write(self, query: Query, sources: Sequence[ScoredPassage],
              history: Sequence[dict] | None = None, generator: Generator | None = None) -> Iterator[str]:
        """The generator's text, released in whole sentences."""
        buffer = ""
        for piece in (generator or self.generator).generate(query, sources, history):
            buffer += piece
            last = max((m.end() for m in _SENTENCE_END.finditer(buffer)), default=0)
            if last:
                ready, buffer = buffer[:last], buffer[last:]
                yield ready
        if buffer.strip():
            yield buffer

    def _verifier(self, sources: Sequence[ScoredPassage], query: Query, timings: dict[str, float],
                  generator: Generator) -> Verifier:
        """A ``Verifier`` of what ``generator`` writes, with this answer's checker (passage embeddings computed
        once per answer; the generator's own fixed phrases are not claims)."""
        memo: dict[str, object] = {}

        def check(sentence: str) -> list[citations.SentenceCheck]:
            t = time.perf_counter()
            items = self.check(sentence, sources, query, memo, generator.framing).sentences
            timings["check_s"] = timings.get("check_s", 0.0) + time.perf_counter() - t
            return items

        return Verifier(check, self.config.unsupported, len(sources))

    @cached_property
    def fallback(self) -> Generator | None:
        """What writes the answer when no sentence of the generator's checks out (None: the generator is it)."""
        spec = self.config.fallback_generator
        if spec is None or spec.backend == self.config.generator.backend and not self._own_generator:
            return None
        return load_generator(spec, self.retriever)

    def check(self, text: str, sources: Sequence[ScoredPassage], query: Query | None = None,
              memo: dict | None = None, framing: Sequence[str] | None = None) -> citations.CitationReport:
        """Every sentence of ``text`` against the sources it cites (embedded as the index embeds passages): is it
        supported; and, given the ``query``, does it apply to the person who asked (the sentence rules, and the
        applicability of every source it cites)? A generator may write what no rule allowed: this says so."""
        embed = None
        if self.retriever.embedder is not None:
            cap = self.retriever.manifest["chunking"].get("embed_max_chars") or IndexSettings().embed_max_chars
            embed = lambda texts: self.retriever.embedder.embed_passages([t[:cap] for t in texts])  # noqa: E731
            if memo is not None:
                embed = _memoized(embed, memo)
        framing = self.generator.framing if framing is None else framing
        report = citations.check(text, [s.text for s in sources], framing=framing,
                                 thresholds=self.config.support, embed=embed)
        if query is not None:
            context, by_n = self.rules.context(query), {s.n: s for s in sources}
            for item in report.sentences:
                if not item.claim:
                    continue
                rule = self.rules.why_not(item.sentence, context)
                off = any((by_n[n].applies or {}).get("applies") is False for n in item.cited if n in by_n)
                item.not_applicable = rule or ("source" if off else None)
                item.applicable = item.not_applicable is None
        return report

    def _notice(self, flags: RedFlags) -> str | None:
        if not flags.emergency:
            return None
        cfg = self.config
        if "suicide" in flags.categories:
            return suicide_notice(cfg.emergency_number, cfg.suicide_helpline)
        return emergency_notice(cfg.emergency_number)

    @staticmethod
    def _timed(timings: dict[str, float], name: str, step, *args):
        t = time.perf_counter()
        out = step(*args)
        timings[name] = time.perf_counter() - t
        return out


def _memoized(embed, memo: dict):
    def cached(texts: list[str]):
        import numpy as np

        todo = [t for t in dict.fromkeys(texts) if t not in memo]
        if todo:
            memo.update(zip(todo, embed(todo)))
        return np.stack([memo[t] for t in texts])

    return cached


def _only_cited(sources: Sequence[ScoredPassage], withheld: list[dict], cited: set[int],
                why: str) -> tuple[list[ScoredPassage], list[dict]]:
    """The sources whose number is in ``cited``, and ``withheld`` with the others added (gate ``answer``)."""
    left_out = [{"doc_id": s.doc_id, "passage_id": s.passage_id, "gate": "answer", "found": why}
                for s in sources if s.n not in cited]
    return [s for s in sources if s.n in cited], withheld + left_out


def _numbered(sources: Sequence[ScoredPassage]) -> list[ScoredPassage]:
    return [s if s.n == i else replace(s, n=i) for i, s in enumerate(sources, start=1)]


def _with_k(config: AssistantConfig, k: int) -> AssistantConfig:
    return replace(config, retrieval=replace(config.retrieval, k=k))
