"""Abstention checks on real article text, with drafts a small model really wrote."""

from __future__ import annotations

import pytest

from index.loaders import load
from index.splitter import paragraph_spans
from rag.cite import CitationChecker
from rag.verify import Verifier, _Evidence, _names
from tests.conftest import ARTICLE
from tests.rag.test_cite import passage

DOC = load(ARTICLE)
PASSAGES = [
    passage(1, "Russia's Chief of the General Staff"),
    passage(2, "NATO Secretary General Jens Stoltenberg", length=400),
    passage(3, "At the same time Russia has just sent six warships"),
    passage(4, "Long-range bombers among other aircraft"),
]


def paragraph(support) -> str:
    for start, end in paragraph_spans(DOC.text):
        if start <= support.start < end:
            return f"{DOC.title}\n{DOC.text[start:end]}"
    raise AssertionError("support outside the document")


@pytest.fixture(scope="module")
def judge(embedder):
    checker = CitationChecker(embed=embedder.embed_documents)
    verifier = Verifier(embed=embedder.embed_documents)

    def run(question: str, draft: str):
        return verifier.verify(question, checker.check(question, draft, PASSAGES), paragraph)

    return run


@pytest.mark.parametrize(("question", "draft", "reason"), [
    ("What is the name of Gerasimov's Belarussian counterpart?",
     "The name of Gerasimov's Belarussian counterpart is Valery Gerasimov.",
     "the only name in the answer is one the question already gives"),
    ("How many long-range bombers have been deployed?",
     "There have been long-range bombers deployed as part of the exercises.",
     "the question asks for a number and the answer gives none"),
    ("Who is the US Secretary of Defense?",
     "The US Secretary of Defense is Jens Stoltenberg.",
     "never mention 'defense'"),
    ("What did Vladimir Putin say about the drills?",
     "Vladimir Putin said the number of Russian forces is going up.",
     "never mention 'vladimir putin'"),
    ("What is the population of Ukraine?",
     "The population of Ukraine is approximately 46.8 million people.",
     "no passage supports the answer"),
    ("How many warships did Russia send?", "The documents do not say.",
     "the model found no answer"),
])
def test_answers_the_documents_do_not_back_fail_a_check(judge, question, draft, reason):
    verdict = judge(question, draft)
    assert verdict.confidence == 0.0
    assert reason in verdict.reason


@pytest.mark.parametrize(("question", "draft"), [
    ("Who is the NATO Secretary General?", "Jens Stoltenberg is the NATO Secretary General."),
    ("How many warships did Russia send?", "Russia sent six warships to the Black Sea."),
    ("Who is Russia's Chief of the General Staff?", "Gen. Valery Gerasimov."),
    ("What did Stoltenberg say renewed Russian aggression will lead to?",
     "More NATO presence, not less."),
])
def test_supported_answers_pass_every_check(judge, question, draft):
    verdict = judge(question, draft)
    assert verdict.reason == ""
    assert verdict.confidence > 0.5


@pytest.mark.parametrize("asked, evidence", [
    ("When was Tesla brought to Gospic?", "In 1879 Tesla was returned to Gospić."),
    ("What does the UMC oppose?", "The United Methodist Church opposes conscription."),
    ("Who did the U.S. work with?", "The United States worked with the Soviet Union."),
    ("What was Peyton Manning's rating?", "Manning finished the season with a 67.9 rating."),
    ("What is the library to Kenyans?", "In Kenya the public library is a people's university."),
])
def test_a_name_is_found_however_the_passage_writes_it(asked, evidence):
    found = _Evidence(evidence)
    assert all(found.has_name(name) for name in _names(asked, skip_first=True))


@pytest.mark.parametrize("asked, evidence", [
    ("What did Vladimir Putin say about the drills?", "Lavrov said the drills were defensive."),
    ("What does the IMF say?", "The International Labour Organization says so."),
    ("Where is Ukraine's border?", "The Uruguayan border is long."),
])
def test_a_name_that_is_not_there_is_not_found(asked, evidence):
    found = _Evidence(evidence)
    assert not all(found.has_name(name) for name in _names(asked, skip_first=True))
