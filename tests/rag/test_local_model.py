"""The real bundled model answers questions about the bundled article, with citations.

This loads Qwen2.5-1.5B through llama-cpp-python: about 10-20 s per answer on 2 cores.
"""

from __future__ import annotations

import pytest

from rag import Assistant

FACTS = [
    ("What are the exercises called?", "allied resolve", "Allied Resolve"),
    ("How many warships did Russia send to the Black Sea?", "six", "six warships"),
    ("Who is the NATO Secretary General?", "stoltenberg", "Jens Stoltenberg"),
    ("How many Russian troops does the US estimate will surge into Belarus?", "30,000", "30,000"),
]


@pytest.fixture(scope="module")
def assistant(corpus_settings):
    return Assistant(corpus_settings)


@pytest.mark.parametrize(("question", "answer_has", "quote_has"), FACTS)
def test_local_model_answers_with_a_citation_to_the_fact(assistant, question, answer_has,
                                                         quote_has):
    answer = assistant.ask(question)
    assert not answer.abstained, answer.draft
    assert answer_has in answer.text.lower().replace(" - ", " "), answer.text
    assert any(quote_has in c.quote for c in answer.citations), answer.citations
    assert f"[{answer.citations[0].marker}]" in answer.text


def test_local_model_says_when_the_documents_do_not_answer(assistant):
    answer = assistant.ask("What is the capital of Australia?")
    assert answer.abstained, answer.draft
    assert answer.citations == []
