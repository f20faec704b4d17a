"""The trap set: do default answers quote sentences that belong to another patient's case?

44 questions written for this check (``benchmarks/data/trap_questions_fa.json``) are asked of
the default knowledge base, and apart from them 24 held-out questions about one of two look-alike
conditions (``benchmarks/data/lookalike_questions_fa.json``, written before the look-alike list). Every quoted sentence is checked by detectors written here,
apart from the answer's own sentence rules and broader than them where they can be:

* ``greeting`` / ``byline`` / ``sign_off`` / ``question_back``: courtesies, a doctor's name or
  title line, thanks, a question to the patient;
* ``dose``: a number with a dose unit or schedule («۲۵۰ میلی‌گرم»، «هر ۸ ساعت»، «دو قاشق») — any, not
  only those the user did not give;
* ``test_result``: a test or image named with what it showed, or with «شما»;
* ``mismatched``: a word the question's entry says no quoted sentence may hold (the look-alike
  condition: «میانی» for a question about the outer ear);
* ``other_drug``: a medicine the question does not name (shares the drug lexicon with the rules).

Also reported, not a target: sentences holding any digit the question does not. Writes the
``trap-questions`` section of BENCHMARKS.md.

    python benchmarks/trap_questions.py [--show]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections import Counter
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.common import machine, table, write_section  # noqa: E402
from gaokerena_rag.assistant import GaokerenaAssistant  # noqa: E402
from gaokerena_rag.citations import CITATION  # noqa: E402
from gaokerena_rag.drugs import DrugLexicon  # noqa: E402
from gaokerena_rag.normalize import normalize  # noqa: E402

S = r"[ \u200c]?"
NUM = r"(\d+([./]\d+)?|یک|دو|سه|چهار|پنج|شش|هفت|هشت|ده|نیم)"
TRAPS = {
    "greeting": re.compile(r"^(با\s*)?(سلام|درود)|وقت\s*(شما\s*)?(به\s*)?خیر|روز\s*(شما\s*)?(به\s*)?خیر"),
    "byline": re.compile(r"(پاسخ\s*(دکتر|پزشک)|دکتر\s+\S+\s+\S*(متخصص|فوق)|متخصص\s+\S+\s*:|نظام\s*پزشکی)"),
    "sign_off": re.compile(r"(با\s*تشکر|موفق\s*باشید|سلامت\s*باشید|خدا\s*نگهدار)"),
    "question_back": re.compile(r"[؟?]\s*$"),
    "dose": re.compile(rf"(?<!\w){NUM}{S}(میلی{S}?گرم|mg|گرم|میکرو|سی{S}?سی|cc|واحد|قطره|قاشق|عدد|کپسول|قرص|"
                       rf"بار{S}در{S}(روز|هفته))(?!\w)|هر{S}{NUM}{S}ساعت"),
    "test_result": re.compile(r"(ازمایش|سونو|ام\s*ار\s*ای|mri|سی\s*تی|ct|گرافی|عکس|نوار|اکو|اسکن|بیوپسی)\w*"
                              r".{0,40}(طبیعی|نرمال|نشان|بالا|پایین|مثبت|منفی|شما|بوده|است که)"),
}


SETS = {"trap set": "trap_questions_fa.json", "look-alikes (held out)": "lookalike_questions_fa.json"}


def traps_of(sentence: str, question: str, must_not: list[str], lexicon: DrugLexicon) -> list[str]:
    n, q = normalize(sentence), normalize(question)
    found = [name for name, rx in TRAPS.items() if rx.search(n)]
    bare = re.sub(r"[ \u200c]", "", n)  # «کم کاری» and «کم‌کاری» alike
    found += ["mismatched" for w in must_not if re.sub(r"[ \u200c]", "", normalize(w)) in bare][:1]
    if set(lexicon.find(n)) - set(lexicon.find(q)):
        found.append("other_drug")
    return found


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=str(ROOT.parent / "shared/data/mf3qa"))
    ap.add_argument("--show", action="store_true", help="print every trapped sentence")
    args = ap.parse_args()
    from index_build.default_kb import KnowledgeBase

    kb = KnowledgeBase(data=args.data)
    kb.ensure(progress=False)
    assistant = GaokerenaAssistant.from_index(kb.index_path)
    lexicon = DrugLexicon.load()
    sets = {name: json.loads((ROOT / "benchmarks/data" / file).read_text("utf-8"))["questions"]
            for name, file in SETS.items()}
    results = {name: ask_all(assistant, items, lexicon, args.show) for name, items in sets.items()}
    names = [*TRAPS, "mismatched", "other_drug"]
    rows = [(name, *(r["counts"].get(name, 0) for r in results.values())) for name in names]
    rows.append(("all traps", *(sum(r["counts"].values()) for r in results.values())))
    trap, held = results["trap set"], results["look-alikes (held out)"]
    body = [
        "## Trap questions: sentences of another patient's case in default answers",
        "",
        f"Machine: {machine()}. Written by `benchmarks/trap_questions.py`, asking the default knowledge base. "
        f"Trap set: {len(sets['trap set'])} questions written for this check; {trap['answered']} answered from "
        f"sources, {trap['quoted']} sentences quoted. Look-alikes (held out): {len(sets['look-alikes (held out)'])} "
        "questions about one of two look-alike conditions, written before the look-alike list "
        f"(`gaokerena_rag/data/lookalikes_fa.json`) and never tuned on; {held['answered']} answered, {held['quoted']} "
        "sentences quoted. The detectors are written in the script, apart from the answer's sentence rules (the drug "
        "check shares the lexicon).",
        "",
        table(rows, ["trap", *(f"{name}: quoted sentences that fall into it" for name in results)]),
        "",
        f"Not a target: {trap['stray_digits']} of {trap['quoted']} quoted sentences of the trap set hold a digit the "
        "question does not.",
    ]
    write_section("trap-questions", "\n".join(body))
    print("\n".join(body))


def ask_all(assistant, items: list[dict], lexicon: DrugLexicon, show: bool) -> dict:
    counts, quoted, answered, stray_digits = Counter(), 0, 0, 0
    for item in items:
        answer = assistant.ask(item["q"])
        answered += not answer.abstained and not answer.guidance
        for c in answer.citations:
            if not c.claim:
                continue
            sentence = " ".join(CITATION.sub(" ", c.sentence).split())
            quoted += 1
            found = traps_of(sentence, item["q"], item.get("must_not", []), lexicon)
            counts.update(found)
            qd = set(re.findall(r"\d+", normalize(item["q"])))
            stray_digits += bool(set(re.findall(r"\d+", normalize(sentence))) - qd)
            if found and show:
                print(found, "|", item["q"], "|", sentence)
    return {"counts": counts, "quoted": quoted, "answered": answered, "stray_digits": stray_digits}


if __name__ == "__main__":
    main()
