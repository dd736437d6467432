"""Abstention checks on real article text, with drafts a small model really wrote."""

from __future__ import annotations

import pytest

from index.loaders import load
from index.splitter import paragraph_spans
from rag.cite import CitationChecker
from rag.verify import Verifier
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
     "never mention 'us secretary', 'defense'"),
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
