"""Names the question asks about, found however the passage writes them."""

from __future__ import annotations

import pytest

from rag.names import Evidence, names


@pytest.mark.parametrize("asked, evidence", [
    ("When was Tesla brought to Gospic?", "In 1879 Tesla was returned to Gospić."),
    ("What does the UMC oppose?", "The United Methodist Church opposes conscription."),
    ("Who did the U.S. work with?", "The United States worked with the Soviet Union."),
    ("What was Peyton Manning's rating?", "Manning finished the season with a 67.9 rating."),
    ("What is the library to Kenyans?", "In Kenya the public library is a people's university."),
])
def test_a_name_is_found_however_the_passage_writes_it(asked, evidence):
    found = Evidence(evidence)
    assert all(found.has_name(name) for name in names(asked, skip_first=True))


@pytest.mark.parametrize("asked, evidence", [
    ("What did Vladimir Putin say about the drills?", "Lavrov said the drills were defensive."),
    ("What does the IMF say?", "The International Labour Organization says so."),
    ("Where is Ukraine's border?", "The Uruguayan border is long."),
])
def test_a_name_that_is_not_there_is_not_found(asked, evidence):
    found = Evidence(evidence)
    assert not all(found.has_name(name) for name in names(asked, skip_first=True))
