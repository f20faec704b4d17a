"""The real page: ``gaokerena ui`` started as users start it, driven by ``gradio_client`` and by
Debian's chromium (Playwright, headless), with 20 clients at once, login, and nothing on disk."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from gradio_client import Client

from conftest import DIABETES_Q, QUERIES
from servers import free_port, wait_until_serving

CHROMIUM = os.environ.get("GAOKERENA_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(os.environ.get("GAOKERENA_ARTIFACTS", Path(__file__).parent / "artifacts"))
CHEST = "ناگهان قفسه سینه‌ام درد گرفت و به دست چپم می‌زند"


@pytest.fixture(scope="module")
def server(built_index, tmp_path_factory):
    """``gaokerena ui --index`` with every default (no log, no feedback), its scratch folders watched."""
    work = tmp_path_factory.mktemp("ui-work")
    port = free_port()
    env = {**os.environ, "TMPDIR": str(work / "tmp"), "GRADIO_TEMP_DIR": str(work / "gradio")}
    (work / "tmp").mkdir()
    log = work / "server.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "gaokerena_rag.cli", "ui", "--index", str(built_index),
                                 "--port", str(port), "--stream-every", "0"], cwd=work, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_until_serving(url, proc, log)
        yield {"url": url, "port": port, "work": work, "index": built_index}
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _text(message: dict) -> str:
    content = message["content"]
    return "".join(part.get("text", "") for part in content) if isinstance(content, list) else str(content)


def _ask(url: str, question: str, k: int = 5) -> list[tuple]:
    job = Client(url, verbose=False).submit(question, [], k, "consultations", False, api_name="/ask")
    list(job)
    return [tuple(out) for out in job.outputs()]


def test_answer_streams_and_its_sources_are_the_retrieved_ones(server, assistant):
    updates = _ask(server["url"], DIABETES_Q)
    texts = [_text(u[0][-1]) for u in updates if u[0] and u[0][-1]["role"] == "assistant"]
    pieces = [t for t in texts if t]
    assert len(pieces) >= 3 and len(set(pieces)) >= 3  # the answer grew piece by piece
    assert all(len(a) < len(b) for a, b in zip(pieces, pieces[1:]))
    chat, panel, banner, sources, _box, plain, *_ = updates[-1]
    expected = assistant.ask(DIABETES_Q, k=5)
    assert plain == expected.text and banner == ""
    assert [s["doc_id"] for s in sources] == [s.doc_id for s in expected.sources] == \
        [s.doc_id for s in assistant.retrieve(DIABETES_Q, 5)]
    assert [s["passage"] for s in sources] == [s.text for s in expected.sources]
    for s in sources:  # every source has its card, in order
        assert f'id="q1-src-{s["n"]}" data-n="{s["n"]}" data-doc-id="{s["doc_id"]}"' in panel
    final = _text(chat[-1])
    assert 'href="#q1-src-1"' in final and "این پاسخ جای معاینه و نظر پزشک را نمی‌گیرد." in final


def test_emergency_comes_first_with_a_banner(server, assistant):
    expected = assistant.ask(CHEST)
    assert expected.emergency  # the library flags it: the page must show it first
    updates = _ask(server["url"], CHEST)
    first = next(_text(u[0][-1]) for u in updates if _text(u[0][-1]))
    assert first.startswith(expected.emergency[:40])
    banner = updates[-1][2]
    assert 'role="alert"' in banner and expected.emergency[:40] in banner
    assert ("منبع معتبری" in updates[-1][5]) == expected.abstained


def test_twenty_clients_at_once_all_get_whole_answers(server):
    questions = [list(QUERIES)[i % len(QUERIES)] for i in range(20)]
    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(lambda q: _ask(server["url"], q)[-1], questions))
    assert len(results) == 20
    for q, (chat, panel, _banner, sources, _box, plain, *_rest) in zip(questions, results):
        assert _text(chat[-2]) == q and plain.endswith("این پاسخ جای معاینه و نظر پزشک را نمی‌گیرد.")
        assert 1 <= len(sources) <= 5 and panel.count('class="gk-card"') == len(sources)


def test_login_file_guards_the_page(assistant, tmp_path):
    from ui.app import ClinicianApp, UISettings
    from ui.auth import hash_password

    users = tmp_path / "users.txt"
    users.write_text(f"dr-a:{hash_password('pass-123', iterations=1000)}\n")
    port = free_port()
    app = ClinicianApp({"consultations": assistant}, UISettings(port=port, auth_file=str(users)))
    page = app.serve(block=False)
    try:
        url = f"http://127.0.0.1:{port}/"
        assert httpx.get(url + "config").status_code == 401
        with pytest.raises(Exception):
            Client(url, verbose=False, auth=("dr-a", "wrong"))
        job = Client(url, verbose=False, auth=("dr-a", "pass-123")).submit(DIABETES_Q, [], 2, "consultations", False,
                                                                            api_name="/ask")
        assert 1 <= len(job.result()[3]) <= 2
    finally:
        page.close()


def test_failed_logins_are_slowed_per_client_and_uploads_refused(assistant, tmp_path):
    from ui.app import ClinicianApp, UISettings
    from ui.auth import hash_password

    users = tmp_path / "users.txt"
    users.write_text(f"dr-a:{hash_password('pass-123', iterations=1000)}\n")
    port = free_port()
    page = ClinicianApp({"consultations": assistant}, UISettings(port=port, auth_file=str(users))).serve(block=False)
    try:
        url = f"http://127.0.0.1:{port}/"
        assert httpx.post(url + "login", data={"username": "dr-a", "password": "pass-123"}).status_code == 200
        codes = [httpx.post(url + "login", data={"username": user, "password": "guess"}).status_code
                 for user in ("dr-a", "nobody", "admin", "dr-a", "root")]
        assert codes == [400] * 5
        locked = httpx.post(url + "login", data={"username": "dr-a", "password": "pass-123"})
        assert locked.status_code == 429 and int(locked.headers["retry-after"]) >= 30  # even the right password
        assert page.state_session_capacity == UISettings().max_sessions
    finally:
        page.close()


def test_the_page_takes_no_uploads(server):
    before = sorted(p.name for p in Path(server["work"]).rglob("*"))
    for route in ("gradio_api/upload", "gradio_api/upload?upload_id=x", "gradio_api/process_recording"):
        reply = httpx.post(server["url"] + route, files={"files": ("big.bin", b"\0" * 3_000_000)})
        assert reply.status_code == 403, (route, reply.status_code)
    assert sorted(p.name for p in Path(server["work"]).rglob("*")) == before


def test_page_in_a_real_browser_is_rtl_persian_and_offline(server):
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), f"{CHROMIUM} missing: apt-get install chromium fonts-noto-core"
    outside: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="fa-IR")
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server["url"].rstrip("/"))

        def route(r):  # the network is cut: only the page's own server answers
            if r.request.url.startswith(server["url"]) or r.request.url.startswith(("data:", "blob:")):
                return r.continue_()
            outside.append(r.request.url)
            return r.abort()

        context.route("**/*", route)
        page = context.new_page()
        page.goto(server["url"], wait_until="load")
        page.fill("#gk-question textarea", DIABETES_Q)
        page.click("#gk-send")
        page.wait_for_selector("#gk-chat .gk-notice", timeout=60_000)
        page.wait_for_selector("#gk-sources .gk-card mark.gk-cited", timeout=30_000)
        assert page.locator("#gk-sources .gk-card").count() >= 1
        direction = "el => getComputedStyle(el).direction"
        assert page.eval_on_selector("#gk-chat .gk-answer", direction) == "rtl"
        assert page.eval_on_selector("#gk-sources .gk-sources", direction) == "rtl"
        assert page.eval_on_selector("#gk-question textarea", direction) == "rtl"
        answer_text = page.inner_text("#gk-chat .gk-answer")
        assert "متفورمین" in answer_text
        # the Persian text is drawn with a real font that has its glyphs (not boxes)
        cdp = context.new_cdp_session(page)
        cdp.send("DOM.enable")
        cdp.send("CSS.enable")
        root = cdp.send("DOM.getDocument", {"depth": -1})["root"]["nodeId"]
        node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": "#gk-chat .gk-answer"})["nodeId"]
        fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
        persian = [f for f in fonts if any(n in f["familyName"] for n in ("Arabic", "Vazirmatn", "DejaVu", "Tahoma"))]
        assert persian and sum(f["glyphCount"] for f in persian) > 20, fonts
        # a citation leads to its card
        page.click("#gk-chat a.cite >> nth=0")
        page.wait_for_selector("#q1-src-1.gk-flash", timeout=5_000)
        assert page.eval_on_selector("#q1-src-1", "el => { const r = el.getBoundingClientRect();"
                                     " return r.top >= 0 && r.bottom <= innerHeight; }")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "ui-answer.png"), full_page=True)
        page.click("#gk-copy")
        page.wait_for_timeout(300)
        copied = page.evaluate("navigator.clipboard.readText()")
        assert "متفورمین" in copied and "<" not in copied
        browser.close()
    assert outside == []
    assert (ARTIFACTS / "ui-answer.png").stat().st_size > 20_000


def test_empty_page_in_an_english_browser_is_still_persian_with_no_gradio_footer(server):
    """Headless chromium with no Persian locale: the page sets its own language and direction, shows
    no footer ("Use via API · Built with Gradio · Settings") and no control without a Persian name."""
    import numpy as np
    from PIL import Image
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="en-US").new_page()
        page.goto(server["url"], wait_until="load")
        page.wait_for_selector("#gk-send")
        page.wait_for_timeout(500)
        assert page.evaluate("[document.documentElement.lang, document.documentElement.dir]") == ["fa", "rtl"]
        assert page.locator("footer").count() == 0
        text = page.inner_text("body")
        assert not any(s in text for s in ("Built with Gradio", "Use via API", "Settings", "Toggle")), text
        # every visible control says what it is, in Persian (no bare icons)
        controls = page.evaluate("""Array.from(document.querySelectorAll('button, [role=button]'))
            .filter(e => e.offsetParent !== null)
            .map(e => (e.innerText.trim() || e.getAttribute('aria-label') || ''))""")
        assert controls and all(re.search("[\u0600-\u06FF]", c) for c in controls), controls
        bottom = page.eval_on_selector("#gk-settings", "el => el.getBoundingClientRect().bottom + scrollY")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shot = ARTIFACTS / "ui-empty-en.png"
        page.screenshot(path=str(shot), full_page=True)
        browser.close()
    pixels = np.asarray(Image.open(shot).convert("L"))
    below = pixels[int(bottom) + 4:]  # where Gradio draws its footer: nothing but the background
    assert below.size and int(below.max()) - int(below.min()) <= 2, (below.min(), below.max())


def test_private_by_default(server):
    """Bound to loopback only, and no question written to the folders the server could write to."""
    port_hex = f"{server['port']:04X}"
    listening = [line.split()[1] for name in ("/proc/net/tcp", "/proc/net/tcp6") if Path(name).exists()
                 for line in Path(name).read_text().splitlines()[1:] if line.split()[1].endswith(":" + port_hex)
                 and line.split()[3] == "0A"]
    assert listening and all(addr.startswith("0100007F") for addr in listening), listening
    needle = DIABETES_Q.encode()
    for folder in (server["work"], server["index"]):
        for path in Path(folder).rglob("*"):
            if path.is_file():
                assert needle not in path.read_bytes(), f"a question reached {path}"
    assert not list(Path(server["work"]).rglob("*.jsonl")) and not list(Path(server["work"]).rglob("*.sqlite"))
