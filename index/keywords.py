"""Keyword search: an SQLite FTS5 index of every chunk's content words, ranked by BM25.

It lives in the catalog's database, is written in the same transaction as the
document's catalog row, and is updated per document: nothing is rebuilt and nothing is
held in memory. Both sides go through one tokeniser (`index.text.content_words`:
lower-case, light stem, numbers without separators, no stopwords), so a query and a
chunk agree on what a word is. FTS5 then keeps the top `n` by its own `bm25()`
(k1 = 1.2, b = 0.75, as in Robertson and Zaragoza) without sorting every match.

FTS5's `bm25()` scores every chunk that holds any query word, so a search costs in
proportion to the sum of its words' chunk counts: in a million chunks, common words make
that 100 ms or more. So, in a big collection, FTS5 ranks candidates by the question's
rarer words only: none found in more than a tenth of all chunks (`COMMON_SHARE`, and in
more than `COMMON_MIN`), and together in at most `POSTINGS_BUDGET` chunks; the rarest
two are always kept. Common words have low idf and move the ranking least, but they do
move it: FTS5's best `RESCORED` are re-ranked by BM25 over every word of the question,
computed here with FTS5's own formula and statistics. When no word is left out, FTS5
ranks alone, exactly; that is every search in a collection of a few thousand chunks.

Measured on 300 calibration-pool questions over indexes grown by `bench.scale` (the
answer's words among the top 20):

| chunks | exact | common words left out (before) | rare words, then re-ranked (now) |
|---|---|---|---|
| 100,000 | 82.7%, 18.5 ms | 81.0%, 9.3 ms | 83.0%, 11.2 ms |
| 1,000,000 | 82.7%, 200.1 ms | 81.0%, 101.6 ms | 82.3%, 46.2 ms |
"""

from __future__ import annotations

import math
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
"""A word in more than this share of chunks ranks no candidates (it still re-ranks them) ..."""
COMMON_MIN = 5000
"""... when it is also in more than this many."""
POSTINGS_BUDGET = 50_000
"""The most chunk entries FTS5 ranks for one search (see the module docstring)."""
RESCORED = 200
"""How many of FTS5's best by the rarest words are re-ranked by every word."""
K1, B = 1.2, 0.75
"""FTS5's `bm25()` defaults, used again when re-ranking."""


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
    chunks = db.execute("SELECT MAX(id) FROM keyword_chunks").fetchone()[0] or 0
    frequencies: dict[str, int] = {}
    kept = words
    if chunks > COMMON_MIN or chunks * len(words) > POSTINGS_BUDGET:
        frequencies = _frequencies(db, words)
        kept = _within_budget(words, frequencies, max(COMMON_SHARE * chunks, COMMON_MIN))
    rows = None
    if len(kept) < len(words):
        rows = _rescored(db, words, frequencies, _ranked(db, kept, max(RESCORED, n)), n)
    if rows is None:
        rows = _ranked(db, kept, n)
    # Filtered here rather than in the query, which would stop FTS5 from keeping only
    # the top n; uncommitted rows are rare (an ingest that is running or was killed).
    return [chunk_id for _, chunk_id, is_committed in rows if is_committed]


def _ranked(db: sqlite3.Connection, words: list[str], n: int) -> list[tuple[int, str, int]]:
    """FTS5's best `n` for any of `words`: (row id, chunk id, committed)."""
    match = " OR ".join('"' + word.replace('"', '""') + '"' for word in words)
    return db.execute(
        "SELECT keywords.rowid, keyword_chunks.chunk_id, keyword_chunks.committed FROM keywords"
        " JOIN keyword_chunks ON keyword_chunks.id = keywords.rowid"
        " WHERE keywords MATCH ? ORDER BY rank LIMIT ?", (match, n)).fetchall()


def _frequencies(db: sqlite3.Connection, words: list[str]) -> dict[str, int]:
    """How many chunks hold each word (absent words are not in the dict)."""
    marks = ",".join("?" * len(words))
    return dict(db.execute(f"SELECT term, doc FROM keyword_vocabulary WHERE term IN ({marks})",
                           words).fetchall())


def _within_budget(words: list[str], frequencies: dict[str, int],
                   common: float = math.inf) -> list[str]:
    """The rarest of `words`: none in more than `common` chunks and their chunk counts
    adding up to at most `POSTINGS_BUDGET`, but never fewer than two that are in some
    chunk. Words in no chunk cost nothing and are kept."""
    kept = [word for word in words if not frequencies.get(word)]
    found, total = 0, 0
    for word in sorted((w for w in words if frequencies.get(w)), key=frequencies.__getitem__):
        count = frequencies[word]
        if found >= 2 and (total + count > POSTINGS_BUDGET or count > common):
            break
        kept.append(word)
        found += 1
        total += count
    return kept


def _rescored(db: sqlite3.Connection, words: list[str], frequencies: dict[str, int],
              rows: list[tuple[int, str, int]], n: int) -> list[tuple[int, str, int]] | None:
    """The best `n` of `rows` by BM25 over all of `words`, as FTS5's `bm25()` would score
    them: its idf (floored at 1e-6), k1 and b, and its own row count and mean length.
    None if FTS5's statistics are not written yet (inside the transaction that adds)."""
    averages = db.execute("SELECT block FROM keywords_data WHERE id = 1").fetchone()
    values = _varints(averages[0]) if averages and averages[0] else []
    if len(values) < 2:
        return None
    total_rows, total_tokens = values[:2]
    mean_length = total_tokens / max(total_rows, 1)
    idf = {}
    for word in words:
        found = frequencies.get(word, 0)
        idf[word] = max(math.log((total_rows - found + 0.5) / (found + 0.5)), 1e-6)
    marks = ",".join("?" * len(rows))
    scores = {}
    for row_id, text in db.execute(f"SELECT id, c0 FROM keywords_content WHERE id IN ({marks})",
                                   [row[0] for row in rows]):
        tokens = text.split()
        norm = K1 * (1 - B + B * len(tokens) / mean_length)
        scores[row_id] = sum(idf[word] * count * (K1 + 1) / (count + norm)
                             for word in words if (count := tokens.count(word)))
    return sorted(rows, key=lambda row: -scores.get(row[0], 0.0))[:n]


def _varints(blob: bytes) -> list[int]:
    """SQLite's variable-length integers, as FTS5 stores its row count and token total."""
    values, at = [], 0
    while at < len(blob):
        value = 0
        for place in range(9):
            byte = blob[at]
            at += 1
            if place == 8:
                value = (value << 8) | byte
                break
            value = (value << 7) | (byte & 0x7F)
            if not byte & 0x80:
                break
        values.append(value)
    return values


def count(db: sqlite3.Connection) -> int:
    return db.execute("SELECT COUNT(*) FROM keyword_chunks").fetchone()[0]
