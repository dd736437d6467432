"""Answer or decline, on real article text with drafts a small model really wrote: the
certain checks, the named features, and the fitted model's probability."""

from __future__ import annotations

import pytest

from index.loaders import load
from index.splitter import paragraph_spans
from rag.calibration import load_calibration
from rag.cite import CitationChecker
from rag.decide import FEATURE_NAMES, Decider, Features, Signals, states_a_count
from rag.focus import SentenceRanker
from rag.vectors import Vectors
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
    calibration = load_calibration()
    checker = CitationChecker(calibration.support)
    decider = Decider(calibration.answer, abstain_below=0.5)

    def run(question: str, draft: str, signals: Signals = Signals()):
        vectors = Vectors(embedder.embed_texts)
        checked = checker.check(question, draft, PASSAGES, vectors)
        veto = decider.veto(question, checked, PASSAGES)
        if veto:
            return veto, None
        ranked = SentenceRanker().rank(question, PASSAGES, vectors)
        return "", decider.features(question, checked, ranked, paragraph, vectors, signals)

    return run


@pytest.mark.parametrize(("question", "draft", "reason"), [
    ("What is the population of Ukraine?",
     "The population of Ukraine is approximately 46.8 million people [1].",
     "a number that no passage states"),
    ("How many warships did Russia send?", "The documents do not say.",
     "the model found no answer"),
    ("How many warships did Russia send?", "Russia sent six warships [3]. In all 14 ships "
     "sailed.", "a number that no passage states"),
    ("How many long-range bombers have been deployed?",
     "There have been long-range bombers deployed as part of the exercises [4].",
     "asks how many and the answer gives no number"),
])
def test_certain_checks_decline_without_weighing(judge, question, draft, reason):
    veto, features = judge(question, draft)
    assert reason in veto
    assert features is None


@pytest.mark.parametrize(("text", "counts"), [
    ("The council meets twice a year.", True), ("Nearly a million and a half visitors.", True),
    ("Six warships.", True), ("Several thousand troops.", True), ("The 1990s.", True),
    ("Long-range bombers were deployed.", False), ("The drills go on.", False),
])
def test_a_count_may_be_a_word(text, counts):
    assert states_a_count(text) is counts


@pytest.mark.parametrize(("question", "draft", "feature", "value"), [
    ("What did Vladimir Putin say about the drills?",
     "Vladimir Putin said the number of Russian forces is going up [2].", "missing_names", 1.0),
    ("Who is the US Secretary of Defense?",
     "The US Secretary of Defense is Jens Stoltenberg [2].", "missing_names", 0.5),
    ("How long will the drills last?",
     "The drills will last until the exercises end [4].",
     "quantity_without_number", True),
    ("What is the name of Gerasimov's Belarussian counterpart?",
     "The name of Gerasimov's Belarussian counterpart is Valery Gerasimov [1].",
     "echoes_name", True),
    ("Who is the NATO Secretary General?", "Jens Stoltenberg is the NATO Secretary General [2].",
     "missing_names", 0.0),
])
def test_the_hand_rules_are_features_of_the_decision(judge, question, draft, feature, value):
    veto, features = judge(question, draft)
    assert veto == ""
    assert getattr(features, feature) == value


def test_a_right_answer_scores_higher_than_one_about_someone_else(judge):
    decider = Decider(load_calibration().answer, 0.5)
    _, right = judge("Who is the NATO Secretary General?",
                     "Jens Stoltenberg is the NATO Secretary General [2].")
    _, wrong = judge("What did Vladimir Putin say about the drills?",
                     "Vladimir Putin said the number of Russian forces is going up [2].")
    assert decider.weigh(right).probability > decider.weigh(wrong).probability


def test_the_decision_is_the_threshold_on_the_probability(judge):
    _, features = judge("How many warships did Russia send?",
                        "Russia sent six warships to the Black Sea [3].",
                        Signals(logprob_mean=-0.1, logprob_min=-0.7, p_yes=0.8))
    model = load_calibration().answer
    p = model.probability(features.as_dict())
    for threshold in (0.0, p - 1e-9, p + 1e-9, 1.0):
        decision = Decider(model, threshold).weigh(features)
        assert decision.probability == pytest.approx(p)
        assert decision.abstain == (p < threshold)
        assert (decision.reason == "") == (not decision.abstain)
        if decision.abstain:
            assert decision.reason.startswith(f"the chance that the answer is right is {p:.2f}")


def test_features_are_named_and_complete(judge):
    _, features = judge("Who is the NATO Secretary General?",
                        "Jens Stoltenberg is the NATO Secretary General [2].")
    assert isinstance(features, Features)
    assert set(features.as_dict()) == set(FEATURE_NAMES)
    assert set(load_calibration().answer.features) <= set(FEATURE_NAMES)
    assert features.p_yes is None and features.logprob_mean is None  # no chat model here


def test_the_model_is_asked_about_its_answer_only_when_no_certain_check_declines(embedder):
    calibration = load_calibration()
    checker = CitationChecker(calibration.support)
    decider = Decider(calibration.answer, abstain_below=0.5)
    asked = []

    def signals() -> Signals:
        asked.append(True)
        return Signals(logprob_mean=-0.2, logprob_min=-1.0, p_yes=0.9)

    for question, draft in [("How many warships did Russia send?", "The documents do not say."),
                            ("How many warships did Russia send?", "Russia sent six warships.")]:
        vectors = Vectors(embedder.embed_texts)
        checked = checker.check(question, draft, PASSAGES, vectors)
        ranked = SentenceRanker().rank(question, PASSAGES, vectors)
        decision = decider.decide(question, checked, PASSAGES, ranked, paragraph, vectors,
                                  signals)
        if checked.abstained:
            assert decision.abstain and decision.probability == 0.0 and not asked
        else:
            assert asked and decision.features.p_yes == 0.9


def test_the_model_s_certainty_is_read_on_the_words_its_answer_adds():
    tokens = ["Russia", " sent", " six", " war", "ships", " [", "3", "]."]
    logprobs = [-0.01, -0.02, -1.5, -0.3, -0.1, -0.05, -2.0, -0.01]
    signals = Signals.of("How many warships were sent by Russia?", tokens, logprobs, p_yes=0.7)
    assert signals.logprob_min == -2.0 and signals.p_yes == 0.7
    assert signals.new_logprob_min == -1.5  # "six": the marker and the asked words left out
    assert signals.new_logprob_mean == pytest.approx(-1.5)
    # a word split over tokens counts every token of it
    words = Signals.of("Who sent ships?", tokens, logprobs)
    assert words.new_logprob_mean == pytest.approx((-0.01 - 1.5 - 0.3 - 0.1) / 4)
    assert Signals.of("How many warships were sent by Russia?", tokens[:2], logprobs[:2]) \
        .new_logprob_min == 0.0  # adds nothing
    assert Signals.of("Q?", [], []) == Signals()
    assert Signals.of("Q?", [], [-0.5]).new_logprob_min is None  # no token texts


def test_an_answer_no_span_clearly_supports_is_weighed_not_vetoed(judge):
    veto, features = judge("Which city hosts the parliament of Belarus?",
                           "The parliament of Belarus sits in the city of Grodno [1].")
    assert veto == ""
    assert features.supported_share == 0.0 and features.support < 0.5
    decision = Decider(load_calibration().answer, abstain_below=0.5).weigh(features)
    assert decision.abstain and decision.probability < 0.5
