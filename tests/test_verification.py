"""Verified generation: what a generator writes is checked sentence by sentence as it streams, and the
policy drops or marks what its cited sources do not say (or what cites none); with nothing left, the
extractive answer is written instead and the answer says so."""

from __future__ import annotations

import pytest

from conftest import DIABETES_Q
from gaokerena_rag import Answer, AssistantConfig, GaokerenaAssistant
from gaokerena_rag.typed_config import ConfigError
from gaokerena_rag.verification import FALLBACK_NOTE, MARK, NOT_COVERED_NOTE

SUPPORTED = "متفورمین داروی خط اول است."  # the diabetes source says this, word for word
INVENTED = "انسولین را برای همیشه قطع کنید [1]. "  # cites the source, which says nothing of the kind
UNCITED = "روزی سه لیتر آب بنوشید. "


class Scripted:
    """A generator that writes a fixed text in small, uneven pieces, as a model streams tokens."""

    framing: tuple[str, ...] = ()

    def __init__(self, text: str, name: str = "scripted"):
        self.text, self.name = text, name

    def generate(self, query, sources, history=None):
        for i in range(0, len(self.text), 7):
            yield self.text[i: i + 7]


def stream(assistant, generator, policy="drop"):
    lm = GaokerenaAssistant(assistant.retriever, generator, AssistantConfig(unsupported=policy))
    pieces = list(lm.stream(DIABETES_Q))
    assert isinstance(pieces[-1], Answer)
    return "".join(pieces[:-1]), pieces[-1]


def test_drop_leaves_out_what_the_sources_do_not_say_streaming_included(assistant):
    # the citation comes after the full stop, in a piece of its own, as small models write it
    text, answer = stream(assistant, Scripted(SUPPORTED + " [1]. " + INVENTED + UNCITED))
    assert "متفورمین داروی خط اول است" in text and "[1]" in answer.body
    assert "انسولین" not in text and "لیتر" not in text  # never shown, not even while streaming
    assert "انسولین" not in answer.body and "لیتر" not in answer.body
    assert [c.sentence.split()[0] for c in answer.unverified] == ["انسولین", "روزی"]
    assert answer.unverified[0].cited == [1] and not answer.unverified[0].supported
    assert answer.unverified[1].cited == []
    assert answer.verification == {"policy": "drop", "claims": 3, "passed": 1, "failed": 2, "fallback": None}
    claims = [c for c in answer.citations if c.claim]
    assert len(claims) == 1 and claims[0].supported and answer.grounding == 1.0
    assert "۲ جمله‌ی نوشته‌شده که منابع تأییدش نکردند حذف شد" in answer.summary


def test_beside_a_model_s_answer_only_the_sources_it_cites_keeping_their_numbers(assistant):
    # two sources go out before the model writes (the UI shows them at once): hypertension [1], diabetes [2]
    lm = GaokerenaAssistant(assistant.retriever, Scripted(SUPPORTED + " [2]. "), AssistantConfig())
    offered: list = []
    *_pieces, answer = lm.stream("قند خونم و فشار خونم بالاست، متفورمین و لوزارتان بخورم؟",
                                 on_sources=lambda sources, _e: offered.extend(sources))
    assert [(s.n, s.doc_id) for s in offered] == [(1, "hypertension"), (2, "diabetes")]
    assert "[2]" in answer.body and [(s.n, s.doc_id) for s in answer.sources] == [(2, "diabetes")]
    assert [(w["doc_id"], w["found"]) for w in answer.withheld if w["gate"] == "answer"] == \
        [("hypertension", "not cited by the answer")]


def test_a_model_saying_the_sources_do_not_cover_it_makes_no_claim(assistant):
    from gaokerena_rag.generators.hf import TransformersGenerator
    from gaokerena_rag.prompts import NOT_COVERED

    scripted = Scripted(NOT_COVERED)
    scripted.framing = TransformersGenerator.framing
    text, answer = stream(assistant, scripted)
    assert answer.verification["claims"] == 0 and answer.verification["fallback"] == "consultations"
    # the line above the extractive answer says what the model wrote: no sentence of its failed
    assert answer.body.startswith(NOT_COVERED_NOTE) and NOT_COVERED_NOTE in text and FALLBACK_NOTE not in text


def test_mark_shows_them_marked_and_keep_shows_them_as_written(assistant):
    text, answer = stream(assistant, Scripted(SUPPORTED + " [1]. " + INVENTED + UNCITED), "mark")
    assert text.count(MARK) == 2 and "انسولین" in answer.body and answer.body.count(MARK) == 2
    assert len(answer.unverified) == 2 and answer.grounding == pytest.approx(1 / 3)
    assert "علامت خورد" in answer.summary
    text, answer = stream(assistant, Scripted(SUPPORTED + " [1]. " + INVENTED + UNCITED), "keep")
    assert MARK not in text and "انسولین" in text and len(answer.unverified) == 2
    assert "تأییدش نکردند" not in answer.summary


def test_with_no_supported_sentence_the_extractive_answer_is_written_and_said_so(assistant):
    text, answer = stream(assistant, Scripted(INVENTED + UNCITED))
    assert FALLBACK_NOTE in text and answer.body.startswith(FALLBACK_NOTE)
    assert "انسولین" not in text and answer.verification["fallback"] == "consultations"
    assert answer.verification["passed"] == 0 and answer.verification["failed"] == 2
    claims = [c for c in answer.citations if c.claim]
    assert claims and all(c.supported and c.cited for c in claims)  # the consultations' own sentences
    # under its own opening line, which says where the words come from (a fixed phrase, not a claim)
    opening = answer.body.split("\n\n")[1].split("\n")[0]
    assert opening.startswith("بر پایه‌ی") and opening.endswith(":") and opening in text
    assert any(c.sentence.strip() == opening and not c.claim for c in answer.citations)
    assert not answer.abstained and answer.model == "scripted"


def test_the_policy_is_checked_when_the_config_is_read():
    assert AssistantConfig().unsupported == "drop"
    with pytest.raises(ConfigError, match="unsupported"):
        AssistantConfig.from_dict({"unsupported": "hide"})
