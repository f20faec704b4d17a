"""The Gradio app for clinicians: ``build_app`` (the page and its events) and ``serve``.

Right-to-left Persian, the answer streamed sentence by sentence, numbered source cards
beside it (a citation in the answer scrolls to its card, the cited sentences are marked),
the emergency banner first, the abstention message and the physician notice. Private by
default: 127.0.0.1, no share link, no analytics, no font, script or style from a CDN,
optional login, and nothing written to disk unless the operator names where.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr  # noqa: E402

from starlette.middleware import Middleware  # noqa: E402

from gaokerena_rag.answer import Answer  # noqa: E402
from gaokerena_rag.assistant import GaokerenaAssistant, check_question  # noqa: E402
from gaokerena_rag.index import read_manifest  # noqa: E402

from . import render  # noqa: E402
from .guard import GuardMiddleware  # noqa: E402
from .storage import FeedbackStore, QuestionLog  # noqa: E402

ASSETS = Path(__file__).parent / "assets"
EXAMPLES = [
    "سلام دکتر، چند روز است سرم یک طرفه درد می‌کند و از نور اذیت می‌شوم. چه کنم؟",
    "فشار خونم ۱۵۰ روی ۹۵ است، باید دارو مصرف کنم؟",
    "بچه‌ام دو روز است تب دارد و سرفه می‌کند، چه کار کنم؟",
    "ناگهان قفسه سینه‌ام درد گرفت و به دست چپم می‌زند",
]
# Citation links scroll to their card (opening an earlier question's group), in the capture
# phase so the chat's own link handling does not open a new tab. Inline: no CDN.
HEAD = """<script>
document.documentElement.lang = "fa";  // the page's own language, whatever the browser's locale
document.documentElement.dir = "rtl";
document.addEventListener("click", function (e) {
  var a = e.target.closest && e.target.closest("a.cite");
  if (!a) return;
  var card = document.getElementById(a.getAttribute("href").slice(1));
  if (!card) return;
  e.preventDefault(); e.stopPropagation();
  var group = card.closest("details"); if (group) group.open = true;
  card.scrollIntoView({behavior: "smooth", block: "center"});
  card.classList.add("gk-flash");
  setTimeout(function () { card.classList.remove("gk-flash"); }, 1600);
}, true);
</script>"""
PANEL_EMPTY = '<div class="gk-sources gk-empty" dir="rtl">منابع هر پاسخ اینجا می‌آید.</div>'
COPY_JS = "(text) => { if (text) navigator.clipboard.writeText(text); return []; }"


@dataclass
class UISettings:
    """How the page is served; every default keeps it private."""

    host: str = "127.0.0.1"
    port: int | None = None  # None: Gradio's (7860, or GRADIO_SERVER_PORT)
    auth_file: str | None = None  # user:secret lines (ui/auth.py); None = no login
    feedback_db: str | None = None  # SQLite file for helpful / not helpful; None = no feedback controls
    log_dir: str | None = None  # JSONL question log; None = questions are not written anywhere
    concurrency: int = 4  # answers computed at once (more wait in Gradio's queue)
    stream_every: float = 0.1  # seconds between streamed updates after the first piece
    max_turns: int = 20  # questions a conversation keeps (older ones leave the chat, the history and memory)
    session_ttl_s: float = 6 * 3600  # a conversation idle this long is forgotten by the server
    max_sessions: int = 500  # conversations the server holds at once (the oldest go first)
    examples: list[str] = field(default_factory=lambda: list(EXAMPLES))
    title: str = "گائوکرنا: پاسخ پزشکی با منبع"


def _theme() -> gr.themes.Base:
    fa = ["Vazirmatn", "Noto Naskh Arabic", "Noto Sans Arabic", "Tahoma", "DejaVu Sans", "sans-serif"]
    return gr.themes.Soft(font=fa, font_mono=["DejaVu Sans Mono", "Noto Sans Mono", "monospace"])


class ClinicianApp:
    """One or more assistants (one per backend, sharing one retriever) behind one page."""

    def __init__(self, assistants: dict[str, GaokerenaAssistant], settings: UISettings | None = None):
        if not assistants:
            raise ValueError("the app needs at least one assistant")
        self.assistants = assistants
        self.settings = settings or UISettings()
        self.default_backend = next(iter(assistants))
        first = assistants[self.default_backend]
        self.manifest = read_manifest(Path(first.retriever.files.path))
        self.feedback = FeedbackStore(self.settings.feedback_db) if self.settings.feedback_db else None
        self.log = QuestionLog(self.settings.log_dir) if self.settings.log_dir else None
        # a local model writes one answer at a time; the other backends follow the queue's limit
        self._local_model = threading.Lock()

    # -- events -----------------------------------------------------------------------------
    def respond(self, question: str, chat: list[dict], k: int, backend: str, show_scores: bool,
                state: dict | None) -> Iterator[tuple]:
        """Stream one answer: (chat, sources panel, banner, sources JSON, question box, plain answer, state)."""
        state = dict(state or {"turns": []})
        question = (question or "").strip()
        if backend not in self.assistants:
            raise gr.Error(f"backend {backend!r} is not served here; choose one of {sorted(self.assistants)}")
        assistant = self.assistants[backend]
        try:
            check_question(question, assistant.config.max_question_chars)
        except ValueError as exc:
            raise gr.Error(str(exc)) from None
        turn = state.get("asked", len(state["turns"])) + 1  # anchors stay unique after old turns are dropped
        state["asked"] = turn
        prefix = f"q{turn}-src"
        chat = list(chat or [])[-2 * self.settings.max_turns:]  # what a client sends back is bounded too
        chat += [{"role": "user", "content": question}, {"role": "assistant", "content": ""}]
        seen: dict[str, Any] = {"sources": [], "banner": ""}

        def on_sources(sources, emergency):
            seen["sources"], seen["banner"] = sources, render.banner_html(emergency)

        def panel():
            return _panel(render.sources_html(seen["sources"], show_scores=show_scores, anchor_prefix=prefix),
                          state["turns"])

        t0 = time.perf_counter()
        text, answer, first, last = "", None, True, 0.0
        with self._local_model if backend == "transformers" else contextlib.nullcontext():
            for piece in assistant.stream(question, k=int(k), history=history(state), on_sources=on_sources):
                if isinstance(piece, Answer):
                    answer = piece
                    break
                text += piece
                if not first and time.perf_counter() - last < self.settings.stream_every:
                    continue  # pieces that come faster than a reader needs go out together
                last = time.perf_counter()
                chat[-1] = {"role": "assistant",
                            "content": render.link_citations(text, seen["sources"], prefix)}
                if first:  # the sources and the banner go out once, with the first piece
                    first = False
                    yield chat, panel(), seen["banner"], render.sources_json(seen["sources"]), "", gr.skip(), state
                else:
                    yield chat, gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
        assert answer is not None
        chat[-1] = {"role": "assistant", "content": render.answer_html(answer, prefix)}
        final = render.sources_html(answer.sources, answer.citations, show_scores=show_scores, anchor_prefix=prefix)
        sources = render.sources_json(answer.sources)
        turns = state["turns"] + [{"question": question, "answer": answer.text, "backend": backend,
                                   "chat_index": len(chat) - 1, "panel": final, "sources": sources}]
        chat, state["turns"] = _bounded(chat, turns, self.settings.max_turns)
        if self.log is not None:
            self.log.write(question=question, answer=answer.to_dict(), backend=backend, seconds=time.perf_counter() - t0)
        yield (chat, _panel(final, state["turns"][:-1]), render.banner_html(answer.emergency), sources, "",
               answer.text, state)

    def rate(self, data: gr.LikeData, comment: str, state: dict | None) -> tuple[str, str]:
        if self.feedback is None:
            return "", comment
        turns = [t for t in (state or {}).get("turns", []) if t["chat_index"] == data.index]
        if not turns or data.liked in (None, ""):
            return "", comment
        t = turns[0]
        helpful = data.liked is True or data.liked == "Like"
        self.feedback.add(question=t["question"], answer=t["answer"], sources=t["sources"], backend=t["backend"],
                          helpful=helpful, comment=comment or "")
        return ("ثبت شد: مفید بود. سپاس." if helpful else "ثبت شد: مفید نبود. سپاس."), ""

    # -- page -------------------------------------------------------------------------------
    def build(self) -> gr.Blocks:
        s = self.settings
        with gr.Blocks(title=s.title, analytics_enabled=False, fill_height=True) as page:
            state = gr.State(None, time_to_live=s.session_ttl_s)
            gr.Markdown(f"## {s.title}", elem_id="gk-title", rtl=True)
            banner = gr.HTML("", elem_id="gk-banner", label="emergency")
            with gr.Row(equal_height=False):
                with gr.Column(scale=3):
                    chat = gr.Chatbot(elem_id="gk-chat", label="گفت‌وگو", show_label=False, rtl=True, height=560,
                                      feedback_options=("Like", "Dislike") if self.feedback else None,
                                      sanitize_html=True, buttons=[], placeholder="پرسش پزشکی خود را بنویسید.")
                    with gr.Row():
                        question = gr.Textbox(placeholder="پرسش خود را به فارسی بنویسید…", label="پرسش",
                                              show_label=False, rtl=True, lines=2, scale=5, elem_id="gk-question")
                        send = gr.Button("بپرس", variant="primary", scale=1, elem_id="gk-send")
                    with gr.Row():
                        copy = gr.Button("کپی پاسخ", size="sm", elem_id="gk-copy")
                        clear = gr.Button("گفت‌وگوی تازه", size="sm", elem_id="gk-clear")
                    plain = gr.Textbox(visible=False, elem_id="gk-plain", label="answer")
                    if self.feedback is not None:
                        comment = gr.Textbox(label="نظر (اختیاری، با 👍/👎 ثبت می‌شود)", rtl=True, lines=1)
                        thanks = gr.Markdown("", rtl=True)
                    gr.Examples(s.examples, inputs=[question], label="نمونه پرسش‌ها")
                with gr.Column(scale=2):
                    gr.Markdown("### منابع", rtl=True)
                    panel = gr.HTML(PANEL_EMPTY, elem_id="gk-sources", label="sources_panel")
                    sources = gr.JSON(visible=False, label="sources")
            with gr.Accordion("تنظیمات و نمایه", open=False, elem_id="gk-settings"):
                k = gr.Slider(1, 10, value=self.assistants[self.default_backend].k, step=1,
                              label="تعداد منابع", buttons=[])
                backend = gr.Dropdown(list(self.assistants), value=self.default_backend, label="پاسخ‌دهنده (backend)")
                show_scores = gr.Checkbox(False, label="نمایش امتیاز بازیابی")
                with gr.Accordion("نمایه", open=True):
                    gr.Markdown(render.index_markdown(self.manifest), elem_id="gk-index", rtl=True)
            outputs = [chat, panel, banner, sources, question, plain, state]
            inputs = [question, chat, k, backend, show_scores, state]
            send.click(self.respond, inputs, outputs, api_name="ask")
            question.submit(self.respond, inputs, outputs, api_visibility="private")
            copy.click(None, [plain], None, js=COPY_JS, api_visibility="private")
            clear.click(lambda: ([], PANEL_EMPTY, "", None, "", "", None), None, outputs, api_visibility="private")
            if self.feedback is not None:
                chat.like(self.rate, [comment, state], [thanks, comment], api_visibility="private")
        return page

    def serve(self, block: bool = True) -> gr.Blocks:
        s = self.settings
        page = self.build()
        # queue positions go out every second, not to every waiting client after every answer
        page.queue(default_concurrency_limit=s.concurrency, status_update_rate=1.0)
        auth = None
        if s.auth_file:
            from .auth import checker

            auth = checker(s.auth_file)
        # the page takes no files: uploads are refused (ui.guard), and capped should one get through
        page.launch(server_name=s.host, server_port=s.port, share=False, auth=auth, theme=_theme(),
                    css_paths=[ASSETS / "app.css"], head=HEAD, ssr_mode=False, pwa=False, mcp_server=False,
                    footer_links=[],  # no "Use via API · Built with Gradio · Settings" under a clinical page
                    prevent_thread_lock=not block, quiet=True, inbrowser=False, max_file_size="1kb",
                    state_session_capacity=s.max_sessions,
                    app_kwargs={"middleware": [Middleware(GuardMiddleware)]})
        return page


def history(state: dict) -> list[dict]:
    """The conversation so far as chat messages (plain text), what the generator is given."""
    return [{"role": role, "content": t[key]} for t in state["turns"]
            for role, key in (("user", "question"), ("assistant", "answer"))]


def _bounded(chat: list[dict], turns: list[dict], max_turns: int) -> tuple[list[dict], list[dict]]:
    """The conversation with at most ``max_turns`` questions: the oldest leave the chat and the
    state together, and each kept turn's ``chat_index`` follows its message."""
    if len(turns) <= max_turns:
        return chat, turns
    turns = turns[-max_turns:]
    cut = min(turns[0]["chat_index"] - 1, len(chat))  # the kept turns start with this user message
    chat = chat[cut:]
    return chat, [{**t, "chat_index": t["chat_index"] - cut} for t in turns]


def _panel(current: str, earlier: list[dict]) -> str:
    """The latest answer's cards, then each earlier question's cards folded away."""
    folded = "".join(f'<details class="gk-earlier"><summary>منابع پرسش {i}: {render.esc(t["question"][:60])}</summary>'
                     f'{t["panel"]}</details>' for i, t in enumerate(earlier, start=1))
    return current + folded
