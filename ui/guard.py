"""What the page's server refuses before Gradio sees it: an ASGI middleware.

* Uploads: the page takes no files, so ``/upload`` and ``/process_recording`` answer 403
  (with or without a login), and nothing reaches Gradio's upload folder.
* Logins: failed attempts are counted per client address; after ``free_failures`` within
  ``window_s`` the client is refused (429, with ``Retry-After``) for a time that doubles
  with each further failure, up to ``max_lock_s``. A success clears the count.

Each attempt costs the same PBKDF2 work whether the user exists or not (``ui.auth``), so
neither the answer nor its time tells which user names are real.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

BLOCKED_SUFFIXES = ("/upload", "/upload/", "/process_recording", "/process_recording/")
LOGIN_PATHS = ("/login", "/login/")


@dataclass
class LoginThrottle:
    free_failures: int = 5
    window_s: float = 900.0
    base_lock_s: float = 30.0
    max_lock_s: float = 900.0
    clock: Callable[[], float] = time.monotonic
    _failures: dict[str, list[float]] = field(default_factory=dict)
    _locked_until: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    max_clients: int = 10_000  # addresses remembered at most (oldest forgotten first)

    def retry_after(self, client: str) -> float:
        """Seconds this client must wait before it may try again (0: it may)."""
        with self._lock:
            return max(0.0, self._locked_until.get(client, 0.0) - self.clock())

    def failed(self, client: str) -> None:
        now = self.clock()
        with self._lock:
            recent = [t for t in self._failures.get(client, []) if now - t < self.window_s] + [now]
            self._failures[client] = recent
            extra = len(recent) - self.free_failures
            if extra >= 0:
                self._locked_until[client] = now + min(self.base_lock_s * 2 ** extra, self.max_lock_s)
            while len(self._failures) > self.max_clients:
                oldest = next(iter(self._failures))
                self._failures.pop(oldest)
                self._locked_until.pop(oldest, None)

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._failures.pop(client, None)
            self._locked_until.pop(client, None)


class GuardMiddleware:
    """ASGI middleware: no uploads, and failed logins slowed per client."""

    def __init__(self, app, throttle: LoginThrottle | None = None):
        self.app = app
        self.throttle = throttle or LoginThrottle()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope.get("path", "")
        if path.endswith(BLOCKED_SUFFIXES):
            return await _plain(send, 403, "this page takes no uploads")
        if scope.get("method") != "POST" or not path.endswith(LOGIN_PATHS):
            return await self.app(scope, receive, send)
        client = (scope.get("client") or ("?", 0))[0]
        wait = self.throttle.retry_after(client)
        if wait > 0:
            return await _plain(send, 429, f"too many failed logins: try again in {int(wait) + 1} s",
                                [(b"retry-after", str(int(wait) + 1).encode())])
        status = {}

        async def watch(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        await self.app(scope, receive, watch)
        if status.get("code") == 200:
            self.throttle.succeeded(client)
        elif status.get("code") in (400, 401):
            self.throttle.failed(client)


async def _plain(send, code: int, text: str, headers: list[tuple[bytes, bytes]] = ()) -> None:
    body = json.dumps({"detail": text}).encode()
    await send({"type": "http.response.start", "status": code,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            *headers]})
    await send({"type": "http.response.body", "body": body})
