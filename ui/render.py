"""How an ``Answer`` reads on the page: the answer with linked citations, the source cards
with the cited sentences highlighted, the emergency banner and the index panel.

Pure functions from the library's dataclasses to HTML/Markdown strings, so they are tested
without a server. Everything taken from a corpus or a model is HTML-escaped here: a passage
is data, never markup.
"""

from __future__ import annotations

import html
import re
from collections import defaultdict
from typing import Iterable, Sequence

from gaokerena_rag.answer import Answer
from gaokerena_rag.chunking import split_sentences
from gaokerena_rag.citations import CITATION, CONTENT_WORDS, SentenceCheck, parse_citations
from gaokerena_rag.documents import ScoredPassage

HIGHLIGHT_MIN = 0.5  # F1 of the two word-overlap shares between an answer sentence and a passage sentence
_LATIN_RUN = re.compile(r"[A-Za-z][A-Za-z0-9 .,+/()%-]*[A-Za-z0-9)%]")
# only absolute http(s) urls with a host become links ("//evil.example" is protocol-relative)
_SAFE_URL = re.compile(r"^https?://[^\s/\\?#@]", re.I)


def esc(text: str) -> str:
    return html.escape(text or "", quote=True)


def text_html(text: str) -> str:
    """Escape ``text``, with Latin runs (drug names, units, doses) isolated to read left-to-right."""
    out, last = [], 0
    for m in _LATIN_RUN.finditer(text or ""):
        out.append(esc(text[last:m.start()]))
        out.append(f'<bdi dir="ltr">{esc(m.group(0))}</bdi>')
        last = m.end()
    out.append(esc((text or "")[last:]))
    return "".join(out)


def link_citations(text: str, sources: Sequence[ScoredPassage], anchor_prefix: str = "src") -> str:
    """Escape ``text`` and turn each ``[n]`` of a source shown into a link to source card ``n``."""
    shown = {s.n for s in sources}

    def repl(m: re.Match) -> str:
        numbers = [n for n in parse_citations(m.group(0)) if n in shown]
        if not numbers:
            return esc(m.group(0))
        links = ",".join(f'<a class="cite" href="#{anchor_prefix}-{n}" data-source="{n}">{n}</a>' for n in numbers)
        return f"[{links}]"

    out, last = [], 0
    for m in CITATION.finditer(text):
        out.append(text_html(text[last:m.start()]))
        out.append(repl(m))
        last = m.end()
    out.append(text_html(text[last:]))
    return "".join(out).replace("\n", "<br>")


def answer_html(answer: Answer, anchor_prefix: str = "src") -> str:
    """The final answer as the chat shows it: notices styled, citations linked to their cards, and where it
    comes from in words («از ۳ مشاوره‌ی مشابه؛ نزدیک‌ترین پرسش: …»)."""
    parts = []
    body = answer.body
    if answer.emergency:
        parts.append(f'<div class="gk-emergency-inline" role="alert">{esc(answer.emergency)}</div>')
    parts += [f'<div class="gk-caveat" dir="rtl">{text_html(c)}</div>' for c in answer.caveats]
    css = "gk-abstain" if answer.abstained else ("gk-guidance" if answer.guidance else "gk-answer")
    parts.append(f'<div class="{css}" dir="rtl">{link_citations(body, answer.sources, anchor_prefix)}</div>')
    parts.append(f'<div class="gk-summary" dir="rtl">{text_html(answer.summary)}</div>')
    parts.append(f'<div class="gk-notice">{esc(answer.notice)}</div>')
    return "".join(parts)


def highlights(checks: Iterable[SentenceCheck], sources: Sequence[ScoredPassage]) -> dict[int, set[int]]:
    """For each source number, the indexes of its passage sentences that cited answer sentences say.

    A passage sentence is marked when the F1 of the two word-overlap shares (as
    ``citations.lexical_support`` counts words) with a claim citing its source is the claim's best
    and at least ``HIGHLIGHT_MIN``.
    """
    words = CONTENT_WORDS
    by_n = {s.n: [set(words(x)) for x in split_sentences(s.answer_text)] for s in sources}  # the doctor's part
    marked: dict[int, set[int]] = defaultdict(set)
    for check in checks:
        claim = set(words(CITATION.sub(" ", check.sentence)))
        if not check.claim or not claim:
            continue
        for n in check.cited:
            best, best_i = 0.0, -1
            for i, sentence in enumerate(by_n.get(n, [])):
                common = len(claim & sentence)
                f1 = 2 * common / (len(claim) + len(sentence)) if common else 0.0
                if f1 > best:
                    best, best_i = f1, i
            if best >= HIGHLIGHT_MIN:
                marked[n].add(best_i)
    return dict(marked)


def _passage_html(passage: str, marked: set[int]) -> str:
    out = []
    for i, sentence in enumerate(split_sentences(passage)):
        text = text_html(sentence)
        out.append(f'<mark class="gk-cited">{text}</mark>' if i in marked else text)
    return "".join(out).replace("\n", "<br>")


def _scores_html(source: ScoredPassage) -> str:
    raw = " · ".join(f"{esc(k)} {v:.3f}" for k, v in sorted(source.scores.items()))
    return f'<div class="gk-scores" dir="ltr">score {source.score:.3f}{" · " + raw if raw else ""}</div>'


def sources_html(sources: Sequence[ScoredPassage], checks: Iterable[SentenceCheck] = (), *,
                 show_scores: bool = False, anchor_prefix: str = "src") -> str:
    """Numbered source cards: title, source, link, passage with the cited sentences marked."""
    if not sources:
        return '<div class="gk-sources gk-empty" dir="rtl">منبعی برای نمایش نیست.</div>'
    marked = highlights(checks, sources)
    cards = []
    for s in sources:
        link = ""
        if s.url and _SAFE_URL.match(s.url):
            link = (f'<a class="gk-link" href="{esc(s.url)}" target="_blank" rel="noopener noreferrer" '
                    f'dir="ltr">{esc(s.url)}</a>')
        parts = s.consultation
        if parts:  # a past consultation: another patient's question and the doctor's reply to them
            closeness = (s.applies or {}).get("question")
            near = f" · نزدیکی پرسش {closeness:.2f}" if closeness is not None else ""
            title = "مشاوره‌ی پیشین" + (f" از {text_html(s.source)}" if s.source else "")
            body = (f'<div class="gk-asked"><b>پرسش بیمار:</b> {text_html(parts[0])}</div>'
                    f'<div class="gk-passage"><b>پاسخ پزشک به همان بیمار:</b> '
                    f'{_passage_html(parts[1], marked.get(s.n, set()))}</div>')
            meta = f"{title}{near}"
        else:
            body = f'<div class="gk-passage">{_passage_html(s.text, marked.get(s.n, set()))}</div>'
            meta = text_html(s.source) or f'<bdi dir="ltr">{esc(s.doc_id)}</bdi>'
            title = text_html(s.title or s.doc_id)
        cards.append(
            f'<article class="gk-card" id="{anchor_prefix}-{s.n}" data-n="{s.n}" data-doc-id="{esc(s.doc_id)}" '
            f'data-passage-id="{esc(s.passage_id)}">'
            f'<header><span class="gk-num">{s.n}</span> <span class="gk-title">{title}'
            f'</span></header><div class="gk-meta">{meta}</div>{link}{body}'
            f'{_scores_html(s) if show_scores else ""}</article>')
    return f'<div class="gk-sources" dir="rtl">{"".join(cards)}</div>'


def banner_html(emergency: str | None) -> str:
    if not emergency:
        return ""
    return f'<div class="gk-emergency" role="alert" dir="rtl">{esc(emergency)}</div>'


def index_markdown(manifest: dict) -> str:
    counts = manifest.get("counts", {})
    emb = manifest.get("embedder", {})
    return "\n".join([
        f"- اسناد: **{counts.get('documents', 0):,}**",
        f"- بخش‌ها (passages): **{counts.get('passages', 0):,}**",
        f"- مدل بردارساز: `{emb.get('spec', '?')}` (dim {emb.get('dim', '?')})",
        f"- آخرین به‌روزرسانی: `{manifest.get('updated_at', '?')}`",
    ])


def sources_json(sources: Sequence[ScoredPassage]) -> list[dict]:
    """The sources as the API returns them (what a card shows, plus the scores)."""
    return [{"n": s.n, "doc_id": s.doc_id, "passage_id": s.passage_id, "title": s.title, "source": s.source,
             "url": s.url, "passage": s.text, "score": s.score, "scores": dict(s.scores)} for s in sources]
