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


def test_words_in_a_large_share_of_a_big_collection_are_left_out(db, monkeypatch):
    monkeypatch.setattr(keywords, "COMMON_MIN", 0)
    monkeypatch.setattr(keywords, "COMMON_SHARE", 0.3)  # "lighthouse" is in 2 of 4 chunks
    assert keywords._without_common(db, ["lighthouse", "lamp"]) == ["lamp"]
    assert keywords.search(db, "lighthouse lamp", 5) == ["b-0"]
    # when every word is that common, the rarest two are kept rather than none
    assert keywords._without_common(db, ["lighthouse"]) == ["lighthouse"]


def test_small_collections_are_searched_exactly(db):
    assert keywords._without_common(db, ["lighthouse", "lamp"]) == ["lighthouse", "lamp"]


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
