"""The passage store: one SQLite file with passage text, document metadata and content hashes.

Tables: ``documents(doc_id, content_hash, title, source, url, metadata)`` and
``passages(pid, doc_id, chunk, text)``. ``pid`` is the integer id the FAISS index
and BM25 use. Opened read-only for querying (safe to share between threads).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from .documents import Document, Passage

SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    doc_id TEXT PRIMARY KEY,
    content_hash TEXT NOT NULL,
    title TEXT NOT NULL,
    source TEXT NOT NULL,
    url TEXT NOT NULL,
    metadata TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS passages (
    pid INTEGER PRIMARY KEY,
    doc_id TEXT NOT NULL REFERENCES documents(doc_id),
    chunk INTEGER NOT NULL,
    text TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS passages_doc ON passages(doc_id);
"""


class PassageStore:
    """SQLite-backed passages and documents."""

    def __init__(self, path: Path | str, readonly: bool = True):
        self.path = Path(path)
        self.readonly = readonly
        if readonly:
            uri = f"file:{self.path}?mode=ro"
            self._db = sqlite3.connect(uri, uri=True, check_same_thread=False)
        else:
            self._db = sqlite3.connect(self.path)
            self._db.executescript(SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        self._db.close()

    # ---- writing -------------------------------------------------------
    def add(self, doc: Document, passages: Sequence[Passage]) -> None:
        self._db.execute(
            "INSERT INTO documents VALUES (?,?,?,?,?,?)",
            (doc.id, doc.content_hash, doc.title, doc.source, doc.url,
             json.dumps(doc.metadata, ensure_ascii=False, default=str)),
        )
        self._db.executemany(
            "INSERT INTO passages VALUES (?,?,?,?)",
            [(p.pid, p.doc_id, p.chunk, p.text) for p in passages],
        )

    def delete_docs(self, doc_ids: Iterable[str]) -> list[int]:
        """Delete documents and their passages; return the deleted passage ids."""
        pids: list[int] = []
        for doc_id in doc_ids:
            rows = self._db.execute("SELECT pid FROM passages WHERE doc_id=?", (doc_id,)).fetchall()
            pids.extend(r[0] for r in rows)
            self._db.execute("DELETE FROM passages WHERE doc_id=?", (doc_id,))
            self._db.execute("DELETE FROM documents WHERE doc_id=?", (doc_id,))
        return pids

    def commit(self) -> None:
        self._db.commit()

    # ---- reading -------------------------------------------------------
    def doc_hashes(self) -> dict[str, str]:
        return dict(self._db.execute("SELECT doc_id, content_hash FROM documents").fetchall())

    def max_pid(self) -> int:
        row = self._db.execute("SELECT MAX(pid) FROM passages").fetchone()
        return -1 if row[0] is None else int(row[0])

    def counts(self) -> tuple[int, int]:
        docs = self._db.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
        passages = self._db.execute("SELECT COUNT(*) FROM passages").fetchone()[0]
        return int(docs), int(passages)

    def iter_texts(self, limit: int | None = None) -> Iterator[tuple[int, str, str]]:
        """(pid, title, text) of every passage (or the first ``limit``) in pid order."""
        cur = self._db.execute(
            "SELECT p.pid, d.title, p.text FROM passages p JOIN documents d USING(doc_id) ORDER BY p.pid"
            + (" LIMIT ?" if limit is not None else ""), (() if limit is None else (int(limit),))
        )
        yield from cur

    def get(self, pids: Sequence[int]) -> dict[int, Passage]:
        if not pids:
            return {}
        marks = ",".join("?" * len(pids))
        with self._lock:
            rows = self._db.execute(
                "SELECT p.pid, p.doc_id, p.chunk, p.text, d.title, d.source, d.url, d.metadata "
                f"FROM passages p JOIN documents d USING(doc_id) WHERE p.pid IN ({marks})",
                [int(p) for p in pids],
            ).fetchall()
        return {
            r[0]: Passage(pid=r[0], doc_id=r[1], chunk=r[2], text=r[3], title=r[4], source=r[5], url=r[6],
                          metadata=json.loads(r[7]))
            for r in rows
        }
