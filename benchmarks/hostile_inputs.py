"""Hostile inputs, measured: questions of 5k/50k/100k digits and a 20k-character question (time
per step, per character: linear), the planted-instruction batches caught (the tuning batch, and
the later batch never tuned on), false alarms on real doctors' sentences, and a document with a
2-million-character token built into an index.

    python benchmarks/hostile_inputs.py [--data ../shared/data/mf3qa] [--consultations 2000]

Questions are answered over an index of the first N MF3QA train consultations, built as the
default knowledge base is (written to a temporary folder). The question length cap is lifted
(``max_question_chars=None``) to time the work itself; the capped path's refusal is timed too.
Writes the ``hostile-inputs`` section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import machine, table, write_section  # noqa: E402

TESTS = Path(__file__).resolve().parents[1] / "tests" / "data"
# the poisoning rule before the fix (an unbounded \d+ before an alternative), for comparison
OLD_RULE = r"(یک|یه|چند|دو|سه|\d+)[ \u200c]?(بسته|ورق|شیشه)[ \u200c]?(قرص|دارو).{0,25}(خورد|خوردم|خورده|بالا[ \u200c]?انداخت)"
SENTENCE = "سلام دکتر، چند روز است سرم یک طرفه درد می‌کند و از نور اذیت می‌شوم و حالت تهوع دارم. "


def timed(fn, *args):
    t0 = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - t0, out


def questions_rows(assistant, capped) -> list[tuple]:
    from gaokerena_rag.assistant import QuestionTooLongError
    from gaokerena_rag.safety import red_flags

    cases = [(f"{n:,} digits", "۱" * n) for n in (5_000, 50_000, 100_000)]
    cases.append(("20,000-character question", (SENTENCE * 300)[:20_000]))
    cases.append(("100,000-character question", (SENTENCE * 1200)[:100_000]))
    rows = []
    for name, q in cases:
        rules_s, _ = timed(red_flags, q)
        ask_s, answer = timed(assistant.ask, q)
        t0 = time.perf_counter()
        try:
            capped.ask(q)
            refused = "answered"
        except QuestionTooLongError:
            refused = f"{(time.perf_counter() - t0) * 1000:.2f} ms"
        steps = answer.timings
        rows.append((name, len(q), f"{rules_s:.3f}", f"{rules_s / len(q) * 1e6:.2f}", f"{ask_s:.2f}",
                     f"{ask_s / len(q) * 1e6:.1f}",
                     " · ".join(f"{k[:-2]} {v:.2f}" for k, v in steps.items() if k != "total_s" and v >= 0.01),
                     refused))
    return rows


def old_rule_rows() -> list[tuple]:
    old = re.compile(OLD_RULE)
    from gaokerena_rag.normalize import normalize

    rows = []
    for n in (5_000, 20_000):
        seconds, _ = timed(old.search, normalize("۱" * n))
        rows.append((f"{n:,} digits", f"{seconds:.2f}"))
    return rows


def injection_rows(data: Path | None) -> tuple[list[tuple], str]:
    from gaokerena_rag.injection import planted_instruction

    rows = []
    for name, label in (("injections_tuning.jsonl", "tuning batch (written before the detector)"),
                        ("injections_holdout.jsonl", "later batch (written after it, never tuned on)"),
                        ("injections_benign.jsonl", "benign medical sentences (false alarms)")):
        batch = [json.loads(line) for line in (TESTS / name).read_text("utf-8").splitlines() if line.strip()]
        hits = [r for r in batch if planted_instruction(r["text"])]
        missed = [r.get("trick", "") for r in batch if r not in hits and "benign" not in name]
        rows.append((label, f"{len(hits)}/{len(batch)}", ", ".join(missed) or "-"))
    note = ""
    if data is not None:
        from gaokerena_rag.chunking import split_sentences
        from index_build.presets import mf3qa_pairs

        sentences = [s for _q, a, _s in mf3qa_pairs(data, "train") for s in split_sentences(a)]
        seconds, flagged = timed(lambda: [s for s in sentences if planted_instruction(s)])
        rows.append(("MF3QA train doctors' sentences (false alarms)", f"{len(flagged)}/{len(sentences):,}", "-"))
        note = (f"Reading the {len(sentences):,} sentences took {seconds:.1f} s "
                f"({seconds / len(sentences) * 1e3:.2f} ms per sentence).")
    return rows, note


def long_token_rows(work: Path) -> list[tuple]:
    from index_build import build_index

    corpus = work / "long-token.jsonl"
    rows = [{"id": "token", "title": "یک کلمه‌ی دو میلیون نویسه‌ای", "text": "ب" * 2_000_000},
            {"id": "normal", "title": "سردرد", "text": SENTENCE * 3}]
    corpus.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", "utf-8")
    seconds, report = timed(lambda: build_index([str(corpus)], work / "long-idx", progress=False))
    from gaokerena_rag import HybridRetriever

    retriever = HybridRetriever.from_index(work / "long-idx")
    query_s, hits = timed(retriever.retrieve, "سردرد یک طرفه", 3)
    return [("2,000,000-character token + one normal document", f"{seconds:.1f}",
             report.manifest["counts"]["passages"], f"{query_s * 1000:.0f}", hits[0].doc_id)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared/data/mf3qa"))
    ap.add_argument("--consultations", type=int, default=2000)
    args = ap.parse_args()
    data = Path(args.data) if Path(args.data).is_dir() else None
    from dataclasses import replace

    from gaokerena_rag import AssistantConfig, GaokerenaAssistant
    from index_build import build_index
    from index_build.default_kb import KnowledgeBase

    work = Path(tempfile.mkdtemp(prefix="gaokerena-hostile-"))
    try:
        if data is None:
            raise SystemExit(f"no MF3QA folder at {args.data}: pass --data")
        from gaokerena_rag.documents import consultation_text
        from index_build.presets import mf3qa_pairs

        pairs = mf3qa_pairs(data, "train")[: args.consultations]
        corpus = work / "kb.jsonl"
        corpus.write_text("\n".join(json.dumps({"id": f"c{i}", "text": consultation_text(q, a), "source": s},
                                               ensure_ascii=False) for i, (q, a, s) in enumerate(pairs)), "utf-8")
        build_index([str(corpus)], work / "kb", KnowledgeBase().settings, progress=False)
        assistant = GaokerenaAssistant.from_index(work / "kb", config=AssistantConfig(max_question_chars=None))
        capped = GaokerenaAssistant(assistant.retriever, config=replace(assistant.config, max_question_chars=10_000))
        assistant.ask(SENTENCE)  # warm
        q_rows = questions_rows(assistant, capped)
        old_rows = old_rule_rows()
        inj_rows, inj_note = injection_rows(data)
        token_rows = long_token_rows(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    body = [
        "## Hostile inputs (`benchmarks/hostile_inputs.py`)", "",
        f"Machine: {machine()}. Questions over an index of the first {args.consultations:,} MF3QA train "
        "consultations (built as the default knowledge base is), the length cap lifted to time the work; "
        "`refused (cap 10,000)` is the time the default configuration takes to say the question is too long. "
        "The rules and retrieval grow linearly with the question; the embedder reads at most its first 2,000 "
        "characters (`RetrievalConfig.max_embedded_chars`), so its cost stops growing there.", "",
        table(q_rows, ["question", "characters", "red-flag rules s", "µs/char", "whole ask s", "µs/char",
                       "steps (s, ≥ 0.01)", "refused (cap 10,000)"]), "",
        "The poisoning rule as it was (unbounded `\\d+`), on the same digits: "
        + ", ".join(f"{n}: {s} s" for n, s in old_rows) + " (quadratic; the issue measured about 400 s at 100,000).",
        "",
        "Planted instructions (`gaokerena_rag/injection.py`; the batches are `tests/data/injections_*.jsonl`):", "",
        table(inj_rows, ["set", "caught", "missed"]), "",
        inj_note, "",
        "A document holding one 2,000,000-character token (the chunker cuts words at 64 characters; the "
        "embedder sees at most 4,000 characters of a passage, and at most 64 of any run without a space):", "",
        table(token_rows, ["corpus", "build s", "passages", "query ms", "top hit for «سردرد یک طرفه»"]),
    ]
    write_section("hostile-inputs", "\n".join(body))
    print("\n".join(body))


if __name__ == "__main__":
    main()
