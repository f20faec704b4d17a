"""What the app writes to disk, and only when the operator asks for it: feedback on answers
(SQLite, ``--feedback-db``) and the question log (JSONL, ``--log-dir``).

By default neither exists and a patient's question is kept only in the browser session.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    sources TEXT NOT NULL,      -- JSON list of {n, doc_id, passage_id}
    backend TEXT NOT NULL,
    rating TEXT NOT NULL CHECK (rating IN ('helpful', 'not_helpful')),
    comment TEXT NOT NULL DEFAULT ''
);
"""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class FeedbackStore:
    """Helpful / not-helpful ratings with an optional comment, one row per rating."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        with self._connect() as db:
            db.executescript(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=10)

    def add(self, *, question: str, answer: str, sources: list[dict], backend: str, helpful: bool,
            comment: str = "") -> int:
        refs = [{"n": s["n"], "doc_id": s["doc_id"], "passage_id": s["passage_id"]} for s in sources]
        with self._lock, self._connect() as db:
            cur = db.execute(
                "INSERT INTO feedback (created_at, question, answer, sources, backend, rating, comment) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (_now(), question, answer, json.dumps(refs, ensure_ascii=False), backend,
                 "helpful" if helpful else "not_helpful", comment.strip()))
            return int(cur.lastrowid)

    def rows(self) -> list[dict]:
        with self._connect() as db:
            db.row_factory = sqlite3.Row
            return [dict(r) for r in db.execute("SELECT * FROM feedback ORDER BY id")]


class QuestionLog:
    """One JSON line per answered question, in a file per UTC day under the operator's folder."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def write(self, *, question: str, answer: dict, backend: str, seconds: float) -> Path:
        day = time.strftime("%Y-%m-%d", time.gmtime())
        path = self.folder / f"questions-{day}.jsonl"
        row = {"time": _now(), "question": question, "answer": answer["text"], "backend": backend,
               "abstained": answer["abstained"], "emergency": answer["emergency_categories"],
               "grounding": answer["grounding"], "seconds": round(seconds, 3),
               "sources": [{"n": s["n"], "doc_id": s["doc_id"]} for s in answer["sources"]]}
        with self._lock, path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        return path
