"""Keyword search: an SQLite FTS5 index of every chunk's content words, ranked by BM25.

It lives in the catalog's database, is written in the same transaction as the
document's catalog row, and is updated per document: nothing is rebuilt and nothing is
held in memory. Both sides go through one tokeniser (`index.text.content_words`:
lower-case, light stem, numbers without separators, no stopwords), so a query and a
chunk agree on what a word is. FTS5 then keeps the top `n` by its own `bm25()`
(k1 = 1.2, b = 0.75, as in Robertson and Zaragoza) without sorting every match.

BM25 still scores every chunk that holds any query word, so in a big collection a word
found in a tenth of all chunks costs more than the rest of the search and moves the
ranking little (its idf is low). Such words are left out of the query once they are
that common and also frequent in absolute terms (`COMMON_SHARE`, `COMMON_MIN`), unless
every word is: then the rarest two are kept. On 600 calibration-pool questions over
the 13 SQuAD-dev-13 articles, leaving out words in more than 10% of chunks (with no
absolute floor) changed nothing: the answer is in the top 20 for 93.7% either way.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from index.text import content_words
from index.types import Chunk

SCHEMA = """
CREATE TABLE IF NOT EXISTS keyword_chunks (
    id INTEGER PRIMARY KEY,
    chunk_id TEXT NOT NULL UNIQUE,
    source TEXT NOT NULL,
    committed INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS keyword_chunks_source ON keyword_chunks (source);
CREATE VIRTUAL TABLE IF NOT EXISTS keywords USING fts5 (
    terms, tokenize = "unicode61 remove_diacritics 0 tokenchars '.'"
);
CREATE VIRTUAL TABLE IF NOT EXISTS keyword_vocabulary USING fts5vocab (keywords, 'row');
"""
MAX_QUERY_TERMS = 32
"""A pasted paragraph as a question would otherwise make every chunk a candidate."""
COMMON_SHARE = 0.10
"""A query word in more than this share of chunks is left out ..."""
COMMON_MIN = 5000
"""... when it is also in more than this many (small collections are searched exactly)."""


def terms(text: str) -> str:
    return " ".join(content_words(text))


def migrate(db: sqlite3.Connection) -> None:
    """Indexes made before chunks had a `committed` flag: all of theirs were."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(keyword_chunks)")}
    if "committed" not in columns:
        db.execute("ALTER TABLE keyword_chunks ADD COLUMN committed INTEGER NOT NULL DEFAULT 1")


def add(db: sqlite3.Connection, chunks: Iterable[Chunk], committed: bool = False) -> None:
    """Index `chunks` (ones already indexed are left as they are: ids follow content).

    New rows are uncommitted, and found by no search, until their document's catalog
    row is written (`commit`): a chunk of an ingest that was killed half-way stays out
    of every answer."""
    for chunk in chunks:
        cursor = db.execute(
            "INSERT OR IGNORE INTO keyword_chunks (chunk_id, source, committed)"
            " VALUES (?, ?, ?)", (chunk.id, chunk.source, int(committed)))
        if cursor.rowcount:
            db.execute("INSERT INTO keywords (rowid, terms) VALUES (?, ?)",
                       (cursor.lastrowid, terms(chunk.text)))


def remove(db: sqlite3.Connection, source: str, keep: set[str] | frozenset[str] = frozenset()
           ) -> None:
    """Drop the chunks of `source`, except those whose ids are in `keep`."""
    rows = db.execute("SELECT id, chunk_id FROM keyword_chunks WHERE source = ?", (source,))
    gone = [(row_id,) for row_id, chunk_id in rows if chunk_id not in keep]
    db.executemany("DELETE FROM keywords WHERE rowid = ?", gone)
    db.executemany("DELETE FROM keyword_chunks WHERE id = ?", gone)


def commit(db: sqlite3.Connection, source: str) -> None:
    db.execute("UPDATE keyword_chunks SET committed = 1 WHERE source = ? AND committed = 0",
               (source,))


def rollback(db: sqlite3.Connection, source: str) -> int:
    """Drop the uncommitted chunks of `source` (an interrupted ingest's); how many."""
    gone = db.execute("SELECT id FROM keyword_chunks WHERE source = ? AND committed = 0",
                      (source,)).fetchall()
    db.executemany("DELETE FROM keywords WHERE rowid = ?", gone)
    db.executemany("DELETE FROM keyword_chunks WHERE id = ?", gone)
    return len(gone)


def committed(db: sqlite3.Connection, ids: list[str]) -> set[str]:
    """Which of `ids` belong to a document as the catalog records it."""
    found: set[str] = set()
    for begin in range(0, len(ids), 500):
        batch = ids[begin:begin + 500]
        marks = ",".join("?" * len(batch))
        found.update(row[0] for row in db.execute(
            f"SELECT chunk_id FROM keyword_chunks WHERE committed = 1 AND chunk_id IN ({marks})",
            batch))
    return found


def committed_count(db: sqlite3.Connection) -> int:
    return db.execute("SELECT COUNT(*) FROM keyword_chunks WHERE committed = 1").fetchone()[0]


def ids_for_source(db: sqlite3.Connection, source: str,
                   unless: set[str] | frozenset[str] = frozenset()) -> set[str]:
    """Ids of the chunks of `source` (any version), except those in `unless`."""
    rows = db.execute("SELECT chunk_id FROM keyword_chunks WHERE source = ?", (source,))
    return {row[0] for row in rows if row[0] not in unless}


def search(db: sqlite3.Connection, query: str, n: int) -> list[str]:
    """Ids of the `n` chunks that best match `query`'s content words, best first."""
    words = list(dict.fromkeys(content_words(query)))[:MAX_QUERY_TERMS]
    if not words or n <= 0:
        return []
    words = _without_common(db, words)
    match = " OR ".join('"' + word.replace('"', '""') + '"' for word in words)
    rows = db.execute(
        "SELECT keyword_chunks.chunk_id, keyword_chunks.committed FROM keywords"
        " JOIN keyword_chunks ON keyword_chunks.id = keywords.rowid"
        " WHERE keywords MATCH ? ORDER BY rank LIMIT ?", (match, n)).fetchall()
    # Filtered here rather than in the query, which would stop FTS5 from keeping only
    # the top n; uncommitted rows are rare (an ingest that is running or was killed).
    return [chunk_id for chunk_id, is_committed in rows if is_committed]


def _without_common(db: sqlite3.Connection, words: list[str]) -> list[str]:
    chunks = db.execute("SELECT MAX(id) FROM keyword_chunks").fetchone()[0] or 0
    limit = max(COMMON_SHARE * chunks, COMMON_MIN)
    if chunks <= limit:
        return words
    marks = ",".join("?" * len(words))
    found = dict(db.execute(f"SELECT term, doc FROM keyword_vocabulary WHERE term IN ({marks})",
                            words).fetchall())
    kept = [word for word in words if found.get(word, 0) <= limit]
    return kept or sorted(words, key=lambda word: found.get(word, 0))[:2]


def count(db: sqlite3.Connection) -> int:
    return db.execute("SELECT COUNT(*) FROM keyword_chunks").fetchone()[0]
