"""The catalog of indexed documents: one SQLite row per source.

It keeps what the vector store should not: each document's content hash and the
chunking it was cut with (to tell unchanged files from changed ones), its full
text (so every citation can be checked against, and shown in, its document), and a
generation counter that moves on every change (so caches such as the keyword
index know when to rebuild).
"""

from __future__ import annotations

import json
import sqlite3
import time
from contextlib import closing, contextmanager
from pathlib import Path

from index.types import DocumentInfo, SourceDocument

_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    source TEXT PRIMARY KEY,
    sha256 TEXT NOT NULL,
    chunking TEXT NOT NULL,
    title TEXT NOT NULL,
    date TEXT,
    kind TEXT NOT NULL,
    chunk_count INTEGER NOT NULL,
    indexed_at REAL NOT NULL,
    text TEXT NOT NULL,
    body_start INTEGER NOT NULL,
    page_starts TEXT NOT NULL,
    hard_wrapped INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
_INFO_COLUMNS = "source, title, sha256, kind, chunk_count, indexed_at, date"


class Catalog:
    """Documents in the index, in `path` (an SQLite file)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @contextmanager
    def _connect(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(self.path, timeout=30)) as db:
            with db:
                db.executescript(_SCHEMA)
            with db:  # one transaction per use
                yield db

    def fingerprint(self, source: str) -> tuple[str, str] | None:
        """(sha256, chunking) recorded for `source`, or None if it is not indexed."""
        with self._connect() as db:
            row = db.execute("SELECT sha256, chunking FROM documents WHERE source = ?",
                             (source,)).fetchone()
        return (row[0], row[1]) if row else None

    def put(self, doc: SourceDocument, chunking: str, chunk_count: int) -> None:
        with self._connect() as db:
            db.execute(
                "INSERT OR REPLACE INTO documents VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (doc.source, doc.sha256, chunking, doc.title, doc.date, doc.kind, chunk_count,
                 time.time(), doc.text, doc.body_start, json.dumps(list(doc.page_starts)),
                 int(doc.hard_wrapped)),
            )
            self._bump(db)

    def remove(self, source: str) -> None:
        with self._connect() as db:
            db.execute("DELETE FROM documents WHERE source = ?", (source,))
            self._bump(db)

    def sources(self) -> list[str]:
        with self._connect() as db:
            return [row[0] for row in db.execute("SELECT source FROM documents ORDER BY source")]

    def documents(self) -> list[DocumentInfo]:
        with self._connect() as db:
            rows = db.execute(f"SELECT {_INFO_COLUMNS} FROM documents ORDER BY source").fetchall()
        return [DocumentInfo(*row) for row in rows]

    def document(self, source: str) -> SourceDocument | None:
        """The document as it was indexed (its text is what chunk offsets point into)."""
        with self._connect() as db:
            row = db.execute(
                "SELECT source, text, title, sha256, kind, date, body_start, page_starts,"
                " hard_wrapped FROM documents WHERE source = ?", (source,)).fetchone()
        if row is None:
            return None
        return SourceDocument(source=row[0], text=row[1], title=row[2], sha256=row[3],
                              kind=row[4], date=row[5], body_start=row[6],
                              page_starts=tuple(json.loads(row[7])), hard_wrapped=bool(row[8]))

    def generation(self) -> int:
        """A number that changes whenever the set of indexed documents changes."""
        with self._connect() as db:
            row = db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        return int(row[0]) if row else 0

    @staticmethod
    def _bump(db: sqlite3.Connection) -> None:
        db.execute(
            "INSERT INTO meta VALUES ('generation', '1') ON CONFLICT(key) DO UPDATE"
            " SET value = CAST(value AS INTEGER) + 1"
        )
