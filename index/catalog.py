"""The catalog of indexed documents: one SQLite row per source.

It keeps what the vector store should not: each document's content hash and the
chunking it was cut with (to tell unchanged files from changed ones), its full
text (so every citation can be checked against, and shown in, its document), the
keyword index of its chunks (`index.keywords`), and a generation counter that moves
on every change.

Each thread keeps one connection (SQLite's page cache then stays warm between
questions); every method is one transaction.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable
from contextlib import contextmanager
from pathlib import Path

from index import keywords
from index.store import StoreError, read_only_message
from index.types import Chunk, DocumentInfo, SourceDocument

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
CREATE TABLE IF NOT EXISTS pending (source TEXT PRIMARY KEY, started REAL NOT NULL);
CREATE TABLE IF NOT EXISTS document_text (
    source TEXT NOT NULL,
    part INTEGER NOT NULL,
    text TEXT NOT NULL,
    PRIMARY KEY (source, part)
);
"""
_INFO_COLUMNS = "source, title, sha256, kind, chunk_count, indexed_at, date"


_PART = 1 << 20


def _parts(text: str):
    return (text[i:i + _PART] for i in range(0, len(text), _PART))


class Catalog:
    """Documents in the index, in `path` (an SQLite file)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._local = threading.local()
        self.read_only = False
        """Opened read-only, because the index's folder or file cannot be written."""

    @contextmanager
    def _connect(self):
        try:
            db = getattr(self._local, "db", None)
            if db is None:
                db = self._open()
                self._local.db = db
            with db:  # one transaction per use
                yield db
        except sqlite3.DatabaseError as exc:
            raise StoreError(self._explain(exc)) from exc

    def _open(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=30)
            with db:
                db.executescript(_SCHEMA + keywords.SCHEMA)
                keywords.migrate(db)
            return db
        except sqlite3.OperationalError as exc:
            if not self.path.is_file() or "readonly" not in str(exc).replace("-", ""):
                raise
        # A read-only index (a read-only mount, or files the user may not write) can
        # still be searched: `immutable` tells SQLite that nobody writes it meanwhile.
        self.read_only = True
        return sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro&immutable=1",
                               uri=True, timeout=30)

    def _explain(self, exc: sqlite3.DatabaseError) -> str:
        """One line that says what is wrong with the catalog and what to do."""
        message = str(exc)
        if "readonly" in message.replace("-", "") or self.read_only:
            return read_only_message(self.path.parent)
        if "locked" in message or "busy" in message:
            return "the index is busy with another writer; try again in a moment"
        if "not a database" in message or "malformed" in message or "corrupt" in message:
            return (f"the catalog {self.path} is damaged ({message}); run `rag doctor` to "
                    "rebuild it, or move the index folder away and ingest again")
        return f"cannot use the catalog {self.path}: {message}"

    def close(self) -> None:
        """Close this thread's connection (others close when their thread ends)."""
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    def fingerprint(self, source: str) -> tuple[str, str] | None:
        """(sha256, chunking) recorded for `source`, or None if it is not indexed."""
        with self._connect() as db:
            row = db.execute("SELECT sha256, chunking FROM documents WHERE source = ?",
                             (source,)).fetchone()
        return (row[0], row[1]) if row else None

    def put(self, doc: SourceDocument, chunking: str, chunk_ids: set[str]) -> None:
        """Record `doc` as indexed with exactly the chunks `chunk_ids` (whose keywords
        `add_chunks` wrote already); its other keyword rows, from older versions, go."""
        with self._connect() as db:
            keywords.remove(db, doc.source, keep=chunk_ids)
            keywords.commit(db, doc.source)
            # The text goes in a megabyte at a time (`document_text`): binding a 50 MB
            # string makes SQLite copy it whole, twice (100 MB more at the end of a big
            # file's ingest). `documents.text` stays empty; older indexes have it there.
            db.execute(
                "INSERT OR REPLACE INTO documents VALUES (?,?,?,?,?,?,?,?,'',?,?,?)",
                (doc.source, doc.sha256, chunking, doc.title, doc.date, doc.kind, len(chunk_ids),
                 time.time(), doc.body_start, json.dumps(list(doc.page_starts)),
                 int(doc.hard_wrapped)),
            )
            db.execute("DELETE FROM document_text WHERE source = ?", (doc.source,))
            db.executemany("INSERT INTO document_text VALUES (?, ?, ?)",
                           ((doc.source, n, part) for n, part in enumerate(_parts(doc.text))))
            self._bump(db)

    def remove(self, source: str) -> None:
        with self._connect() as db:
            keywords.remove(db, source)
            db.execute("DELETE FROM documents WHERE source = ?", (source,))
            db.execute("DELETE FROM document_text WHERE source = ?", (source,))
            self._bump(db)

    def begin(self, source: str) -> None:
        """Note that `source` is being written, before the vector store is touched;
        `finish` clears the note once the vector store is done too."""
        with self._connect() as db:
            db.execute("INSERT OR REPLACE INTO pending VALUES (?, ?)", (source, time.time()))

    def finish(self, source: str) -> None:
        with self._connect() as db:
            db.execute("DELETE FROM pending WHERE source = ?", (source,))

    def pending(self) -> list[str]:
        """Sources whose last write was interrupted."""
        with self._connect() as db:
            return [row[0] for row in db.execute("SELECT source FROM pending ORDER BY source")]

    def rollback(self, source: str) -> int:
        """Forget an interrupted write's uncommitted keyword rows (the recorded version
        stays); returns how many there were."""
        with self._connect() as db:
            return keywords.rollback(db, source)

    def invalidate(self, source: str) -> None:
        """Make the next ingest write `source` again (its chunks went missing)."""
        with self._connect() as db:
            db.execute("UPDATE documents SET sha256 = '' WHERE source = ?", (source,))

    def committed(self, ids: list[str]) -> set[str]:
        """Which of `ids` are chunks of a document as recorded (searches keep only these)."""
        with self._connect() as db:
            return keywords.committed(db, ids)

    def committed_count(self) -> int:
        with self._connect() as db:
            return keywords.committed_count(db)

    def chunk_counts(self) -> dict[str, int]:
        """Chunks each document should have in the vector store."""
        with self._connect() as db:
            return dict(db.execute("SELECT source, chunk_count FROM documents"))

    def add_chunks(self, chunks: Iterable[Chunk], committed: bool = False) -> None:
        """Add chunks to the keyword index (before their document is `put`)."""
        with self._connect() as db:
            keywords.add(db, chunks, committed)

    def chunk_ids(self, source: str, unless: set[str] | frozenset[str] = frozenset()
                  ) -> set[str]:
        """Ids of every chunk of `source` in the keyword index, any version, except those
        in `unless`."""
        with self._connect() as db:
            return keywords.ids_for_source(db, source, unless)

    def keyword_search(self, query: str, n: int) -> list[str]:
        """Ids of the `n` chunks whose words best match `query` (BM25), best first."""
        with self._connect() as db:
            return keywords.search(db, query, n)

    def keyword_count(self) -> int:
        with self._connect() as db:
            return keywords.count(db)

    def has_documents(self) -> bool:
        with self._connect() as db:
            return db.execute("SELECT 1 FROM documents LIMIT 1").fetchone() is not None

    def document_count(self) -> int:
        with self._connect() as db:
            return db.execute("SELECT COUNT(*) FROM documents").fetchone()[0]

    def chunking_in_use(self) -> str | None:
        """The chunking most of the documents were cut with (None when there are none)."""
        with self._connect() as db:
            row = db.execute("SELECT chunking FROM documents GROUP BY chunking "
                             "ORDER BY COUNT(*) DESC, chunking LIMIT 1").fetchone()
        return row[0] if row else None

    def sources(self) -> list[str]:
        with self._connect() as db:
            return [row[0] for row in db.execute("SELECT source FROM documents ORDER BY source")]

    def documents(self) -> list[DocumentInfo]:
        with self._connect() as db:
            rows = db.execute(f"SELECT {_INFO_COLUMNS} FROM documents ORDER BY source").fetchall()
        return [DocumentInfo(*row) for row in rows]

    def info(self, source: str) -> DocumentInfo | None:
        """One document's record, without its text."""
        with self._connect() as db:
            row = db.execute(f"SELECT {_INFO_COLUMNS} FROM documents WHERE source = ?",
                             (source,)).fetchone()
        return DocumentInfo(*row) if row else None

    def document(self, source: str) -> SourceDocument | None:
        """The document as it was indexed (its text is what chunk offsets point into)."""
        with self._connect() as db:
            row = db.execute(
                "SELECT source, text, title, sha256, kind, date, body_start, page_starts,"
                " hard_wrapped FROM documents WHERE source = ?", (source,)).fetchone()
        if row is None:
            return None
        text = row[1] or self._text(source)
        return SourceDocument(source=row[0], text=text, title=row[2], sha256=row[3],
                              kind=row[4], date=row[5], body_start=row[6],
                              page_starts=tuple(json.loads(row[7])), hard_wrapped=bool(row[8]))

    def text_window(self, source: str, start: int, end: int) -> tuple[str, int, int] | None:
        """Characters `start:end` of a document's text (clipped to it), reading only the
        megabyte parts that hold them: (text, its offset, the document's length), or
        None if the document is not indexed. For a cited span's surroundings, which
        should not cost a whole 50 MB document per answer."""
        start, end = max(0, start), max(0, end)
        with self._connect() as db:
            row = db.execute("SELECT text FROM documents WHERE source = ?",
                             (source,)).fetchone()
            if row is None:
                return None
            if row[0]:  # written before the text was kept in parts
                text = row[0]
                return text[start:end], min(start, len(text)), len(text)
            length = db.execute("SELECT COALESCE(SUM(length(text)), 0) FROM document_text "
                                "WHERE source = ?", (source,)).fetchone()[0]
            start, end = min(start, length), min(end, length)
            first, last = start // _PART, max(start, end - 1) // _PART
            joined = "".join(part for (part,) in db.execute(
                "SELECT text FROM document_text WHERE source = ? AND part BETWEEN ? AND ? "
                "ORDER BY part", (source, first, last)))
        offset = first * _PART
        return joined[start - offset:end - offset], start, length

    def _text(self, source: str) -> str:
        with self._connect() as db:
            return "".join(row[0] for row in db.execute(
                "SELECT text FROM document_text WHERE source = ? ORDER BY part", (source,)))

    def generation(self) -> int:
        """A number that changes whenever the set of indexed documents changes."""
        return int(self.meta("generation") or 0)

    def meta(self, key: str) -> str | None:
        """A value kept beside the documents (`set_meta`), or None."""
        with self._connect() as db:
            row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self._connect() as db:
            db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    @staticmethod
    def _bump(db: sqlite3.Connection) -> None:
        db.execute(
            "INSERT INTO meta VALUES ('generation', '1') ON CONFLICT(key) DO UPDATE"
            " SET value = CAST(value AS INTEGER) + 1"
        )
