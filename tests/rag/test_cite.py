"""Citation checking on real article text; no model involved."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from index.loaders import load
from rag.calibration import load_calibration
from rag.cite import CitationChecker
from rag.draft import is_abstention, strip_markers
from rag.types import Passage
from rag.vectors import Vectors
from tests.conftest import ARTICLE

DOC = load(ARTICLE)


def passage(number: int, phrase: str, length: int = 300) -> Passage:
    """The passage of the article that starts at the sentence holding `phrase`."""
    at = DOC.text.index(phrase)
    start = DOC.text.rfind("\n", 0, at) + 1
    end = min(len(DOC.text), start + length)
    end = DOC.text.rfind(".", start, end) + 1
    return Passage(number=number, source=DOC.source, title=DOC.title, start=start, end=end,
                   text=DOC.text[start:end], score=0.0, similarity=0.0, date=DOC.date)


PASSAGES = [
    passage(1, "NATO denounced the drills"),
    passage(2, "Zelensky said \"the accumulation", length=380),
    passage(3, "At the same time Russia has just sent six warships"),
]


class Checker:
    """The bundled support model, with a fresh `Vectors` per question as the assistant
    uses it."""

    def __init__(self, embedder) -> None:
        self.embedder = embedder
        self.checker = CitationChecker(load_calibration().support)

    def check(self, question: str, draft: str, passages: list[Passage]):
        return self.checker.check(question, draft, passages,
                                  Vectors(self.embedder.embed_texts))


@pytest.fixture(scope="module")
def checker(embedder):
    return Checker(embedder)


def test_quotes_are_exact_and_narrower_than_the_passage(checker):
    result = checker.check("How many troops will surge into Belarus?",
                           "Some 30,000 Russian troops [1].", PASSAGES)
    assert not result.abstained
    [citation] = result.citations
    assert citation.marker == 1
    assert DOC.text[citation.start:citation.end] == citation.quote
    assert "30,000 Russian troops" in citation.quote
    assert len(citation.quote) < len(PASSAGES[0].text)
    assert result.text == "Some 30,000 Russian troops [1]."


def test_a_wrong_marker_is_moved_to_the_supporting_passage(checker):
    result = checker.check("How many warships did Russia send?",
                           "Russia sent six warships to the Black Sea [1].", PASSAGES)
    assert result.text == "Russia sent six warships to the Black Sea [1]."
    assert [(c.marker, c.passage) for c in result.citations] == [(1, 3)]
    assert "six warships" in result.citations[0].quote


def test_a_missing_marker_is_added(checker):
    result = checker.check("What are the exercises called?", "They are called Allied Resolve 2022.",
                           PASSAGES)
    assert result.text == "They are called Allied Resolve 2022 [1]."
    assert result.citations[0].passage == 2
    assert "Allied Resolve 2022" in result.citations[0].quote


def test_a_number_the_passages_do_not_state_is_unsupported(checker):
    result = checker.check("How many troops will surge into Belarus?",
                           "Some 45,000 Russian troops will surge into Belarus [1].", PASSAGES)
    assert result.unsupported == ["Some 45,000 Russian troops will surge into Belarus."]
    assert result.citations == []
    assert "[1]" not in result.text


def test_an_answer_given_without_clear_support_cites_its_best_span(checker):
    result = checker.check("What do the ships carry?",
                           "The ships carry hypersonic missiles built in Kazan [3].", PASSAGES)
    assert result.citations == [] and not result.clearly_supported
    cited = checker.checker.cite_best(result)
    [citation] = cited.citations
    assert cited.text == "The ships carry hypersonic missiles built in Kazan [1]."
    assert citation.passage == 3 and DOC.text[citation.start:citation.end] == citation.quote
    assert cited.unsupported == ["The ships carry hypersonic missiles built in Kazan."]
    supported = checker.check("How many warships did Russia send?",
                              "Russia sent six warships [3].", PASSAGES)
    assert checker.checker.cite_best(supported) is supported
    # a span that lacks the sentence's number is never cited
    wrong_number = checker.check("How many troops will surge into Belarus?",
                                 "Some 45,000 Russian troops will surge into Belarus.", PASSAGES)
    assert checker.checker.cite_best(wrong_number).citations == []


def test_only_the_supported_sentence_keeps_a_citation(checker):
    result = checker.check(
        "How many warships did Russia send?",
        "Russia sent six warships [3]. The ships carry hypersonic missiles built in Kazan [3].",
        PASSAGES)
    assert result.text.startswith("Russia sent six warships [1].")
    assert result.unsupported == ["The ships carry hypersonic missiles built in Kazan."]
    assert len(result.citations) == 1


@pytest.mark.parametrize("draft", [
    "The documents do not say.",
    "The passages do not mention the population of Belarus.",
    "This information is not provided in the passages... I cannot determine it.",
    "I don't know.",
    "I don’t know.",
    "The passages don’t say how many people live in Belarus.",
    "Belarus borders Ukraine [1].\nHowever, the documents do not mention its population.",
])
def test_the_model_saying_it_does_not_know_is_an_abstention(checker, draft):
    assert is_abstention(draft)
    result = checker.check("What is the population of Belarus?", draft, PASSAGES)
    assert result.abstained and result.citations == []


def test_plain_answers_are_not_abstentions():
    assert not is_abstention("Some 30,000 Russian troops [1].")
    assert not is_abstention("Moscow has not confirmed the numbers [2].")
    assert not is_abstention("Moscow says the troops will return home.\nNATO doubts it [2].")


def test_every_candidate_span_is_kept_with_its_probability(checker):
    result = checker.check("How many warships did Russia send?",
                           "Russia sent six warships to the Black Sea [3].", PASSAGES)
    [sentence] = result.sentences
    assert len(sentence.candidates) == len(CitationChecker.spans(PASSAGES))
    assert sentence.support in sentence.candidates
    assert sentence.support.probability == max(c.probability for c in sentence.candidates)
    assert all(c.probability == 0.0 for c in sentence.candidates if not c.numbers_match)
    assert all(0.0 <= c.probability <= 1.0 for c in sentence.candidates)


def test_markers_are_parsed_in_their_usual_shapes():
    clean, markers = strip_markers("A [1]. B [2, 3]. C [Passage 4][5]. D [1-2].")
    assert clean == "A. B. C. D."
    assert [numbers for _, numbers in markers] == [(1,), (2, 3), (4,), (5,), (1, 2)]


_WORDS = sorted({w for p in PASSAGES for w in p.text.split()}) + ["[1]", "[2]", "[3]", "[9]",
                                                                   ".", "\n", "and"]


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(st.sampled_from(_WORDS), min_size=1, max_size=30).map(" ".join))
def test_every_quote_is_the_source_text_at_its_offsets(checker, draft):
    result = checker.check("What did Russia send?", draft, PASSAGES)
    for citation in result.citations:
        assert DOC.text[citation.start:citation.end] == citation.quote
        assert citation.quote.strip()
    markers = {c.marker for c in result.citations}
    assert markers == set(range(1, len(markers) + 1))
