"""The FTS5 keyword index on its own: plain SQLite, no model."""

from __future__ import annotations

import sqlite3

import pytest

from index import keywords
from index.types import Chunk


def _chunk(source: str, n: int, text: str) -> Chunk:
    return Chunk(id=f"{source}-{n}", source=source, text=text, start=n * 100,
                 end=n * 100 + len(text), title=source)


@pytest.fixture
def db():
    connection = sqlite3.connect(":memory:")
    connection.executescript(keywords.SCHEMA)
    keywords.add(connection, [
        _chunk("a", 0, "The lighthouse keeper's cats sleep on the stairs."),
        _chunk("a", 1, "Some 30,000 troops moved 1,000km in 3.5 days."),
        _chunk("b", 0, "A lighthouse stands on the rocks; the lighthouse lamp is old."),
        _chunk("b", 1, "Nothing about towers here, only the weather report."),
    ], committed=True)
    connection.commit()  # FTS5 writes its row count and token total on commit
    return connection


def test_the_best_match_comes_first_and_non_matches_never(db):
    assert keywords.search(db, "Which lighthouse has an old lamp?", 10) == ["b-0", "a-0"]
    assert keywords.search(db, "the of and", 10) == []  # stopwords only: no query at all


def test_query_and_chunks_share_one_tokeniser(db):
    # plural and possessive stems, thousands separators, units, decimals
    assert keywords.search(db, "cat", 1) == ["a-0"]
    assert keywords.search(db, "30000 troops", 1) == ["a-1"]
    assert keywords.search(db, "1000 kilometers", 1) == ["a-1"]
    assert keywords.search(db, "3.5", 1) == ["a-1"]


def test_quotes_and_operators_in_a_question_are_just_words(db):
    assert keywords.search(db, 'lighthouse" OR NEAR(x) AND "*', 5)[0] == "b-0"


def test_adding_twice_keeps_one_row(db):
    keywords.add(db, [_chunk("a", 0, "The lighthouse keeper's cats sleep on the stairs.")])
    assert keywords.count(db) == 4


def test_remove_drops_a_source_but_keeps_what_is_asked(db):
    keywords.remove(db, "a", keep={"a-1"})
    assert keywords.ids_for_source(db, "a") == {"a-1"}
    assert keywords.search(db, "cats", 5) == []
    keywords.remove(db, "b")
    assert keywords.count(db) == 1


def test_a_search_over_the_budget_ranks_as_fts5_would_over_every_word(db, monkeypatch):
    keywords.add(db, [
        _chunk("c", 0, "The lighthouse lamp burned whale oil; cats kept the mice away."),
        _chunk("c", 1, "Old lighthouse keepers kept cats, and one lighthouse kept three."),
    ], committed=True)
    db.commit()
    question = "lighthouse keepers cats lamp oil"
    exact = keywords.search(db, question, 10)
    monkeypatch.setattr(keywords, "POSTINGS_BUDGET", 1)  # every search is over it
    # FTS5 reads only the rarest words ("oil", "keeper"), then every word re-ranks
    assert keywords._within_budget(keywords.content_words(question),
                                   keywords._frequencies(db, ["lighthouse", "keeper", "cat",
                                                              "lamp", "oil"])) == ["oil",
                                                                                   "keeper"]
    # the chunks holding a rare word, in the order of the exact search ("b-0" holds none)
    assert keywords.search(db, question, 10) == [i for i in exact if i in {"c-0", "a-0", "c-1"}]
    assert len(exact) == 4
    # the re-ranking scores are FTS5's own bm25() over all the words
    rows = db.execute("SELECT rowid, bm25(keywords) FROM keywords WHERE keywords MATCH ?",
                      (" OR ".join(keywords.content_words(question)),)).fetchall()
    ordered = [row_id for row_id, _ in sorted(rows, key=lambda row: row[1])]
    everything = [(row_id, str(row_id), 1) for row_id, _ in rows]
    frequencies = keywords._frequencies(db, keywords.content_words(question))
    assert [row[0] for row in keywords._rescored(db, keywords.content_words(question),
                                                 frequencies, everything, 10)] == ordered


def test_the_rarest_two_words_are_kept_however_common(db, monkeypatch):
    monkeypatch.setattr(keywords, "POSTINGS_BUDGET", 1)
    assert keywords._within_budget(["lighthouse", "lamp", "cat"],
                                   {"lighthouse": 2, "lamp": 1, "cat": 1}) == ["lamp", "cat"]
    assert keywords.search(db, "lighthouse", 5) == ["b-0", "a-0"]
    # words in no chunk are kept (they cost nothing) and do not count as the two
    assert keywords._within_budget(["zyx", "lighthouse", "lamp", "cat"],
                                   {"lighthouse": 2, "lamp": 1, "cat": 1}) == ["zyx", "lamp",
                                                                               "cat"]
    budgeted = keywords.search(db, "zyx lighthouse lamp cat", 5)
    monkeypatch.setattr(keywords, "POSTINGS_BUDGET", 10**9)
    assert budgeted == keywords.search(db, "zyx lighthouse lamp cat", 5) == ["a-0", "b-0"]
    monkeypatch.setattr(keywords, "POSTINGS_BUDGET", 1)
    assert keywords.search(db, "zyx", 5) == []
    # a word in too large a share of chunks ranks no candidates, within the budget too
    monkeypatch.setattr(keywords, "POSTINGS_BUDGET", 100)
    assert keywords._within_budget(["lighthouse", "lamp", "cat", "oil"],
                                   {"lighthouse": 2, "lamp": 1, "cat": 1, "oil": 1},
                                   common=1) == ["lamp", "cat", "oil"]
    assert keywords._within_budget(["lighthouse", "lamp", "cat", "oil"],
                                   {"lighthouse": 2, "lamp": 1, "cat": 1, "oil": 1}
                                   ) == ["lamp", "cat", "oil", "lighthouse"]


def test_small_collections_are_searched_exactly(db, monkeypatch):
    monkeypatch.setattr(keywords, "_rescored", None)  # never called
    assert keywords.search(db, "Which lighthouse has an old lamp?", 10) == ["b-0", "a-0"]


def test_the_row_count_and_token_total_are_read_from_fts5(db):
    block = db.execute("SELECT block FROM keywords_data WHERE id = 1").fetchone()[0]
    rows, tokens = keywords._varints(block)[:2]
    assert rows == 4
    assert tokens == sum(len(keywords.terms(text).split()) for text in (
        "The lighthouse keeper's cats sleep on the stairs.",
        "Some 30,000 troops moved 1,000km in 3.5 days.",
        "A lighthouse stands on the rocks; the lighthouse lamp is old.",
        "Nothing about towers here, only the weather report."))
    assert keywords._varints(bytes([0xBD, 0x84, 0x40, 0x05])) == [1_000_000, 5]


def test_chunks_are_found_only_once_committed_and_a_rollback_drops_them(db):
    keywords.add(db, [_chunk("c", 0, "The lighthouse of Pharos was a wonder.")])
    assert "c-0" not in keywords.search(db, "Pharos lighthouse", 10)
    assert keywords.committed(db, ["c-0", "a-0"]) == {"a-0"}
    keywords.rollback(db, "c")
    assert keywords.ids_for_source(db, "c") == set()
    keywords.add(db, [_chunk("c", 0, "The lighthouse of Pharos was a wonder.")])
    keywords.commit(db, "c")
    assert keywords.search(db, "Pharos", 10) == ["c-0"]
    assert keywords.committed_count(db) == 5
