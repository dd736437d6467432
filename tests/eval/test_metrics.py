from __future__ import annotations

import pytest

from eval import metrics
from eval.report import CAUSES, miss_cause, miss_causes


@pytest.mark.parametrize(("text", "expected"), [
    ("The Allied Resolve 2022!", "allied resolve 2022"),
    ("  An  apple, a PEAR and the plum. ", "apple pear and plum"),
    ("“Kyiv”", "kyiv"),
    ("1187—1241", "1187 1241"),
])
def test_normalize_answer_follows_squad(text, expected):
    assert metrics.normalize_answer(text) == expected


def test_exact_match_and_f1_take_the_best_alias():
    assert metrics.exact_match("The Wall Street Journal [2]", ["Wall Street Journal", "WSJ"]) == 1.0
    assert metrics.exact_match("It was the Journal", ["Wall Street Journal"]) == 0.0
    assert metrics.token_f1("Wall Street", ["Wall Street Journal"]) == pytest.approx(0.8)
    assert metrics.token_f1("nothing shared", ["Kyiv"]) == 0.0


def test_containment_needs_whole_words():
    assert metrics.contains_answer("Russia sent six warships [1].", ["six", "6"])
    assert not metrics.contains_answer("Russia sent sixty warships.", ["six"])
    assert metrics.contains_answer("Some 30,000 troops", ["30,000"])
    assert not metrics.contains_answer("Some 30,000 troops", [""])


def test_a_hyphen_and_a_dash_read_the_same():
    assert metrics.contains_answer("Deacons serve 2-3 years [1].", ["2–3 years"])
    assert metrics.contains_answer("The 1187–1241 campaigns", ["1187-1241"])
    assert metrics.exact_match("Coca-Cola", ["Coca Cola"]) == 1.0


def test_evidence_spans_must_be_verbatim():
    document = "Alpha beta. Gamma delta."
    assert metrics.evidence_spans(document, "Gamma delta") == [(12, 23)]
    assert metrics.evidence_spans(document, ["Alpha", "delta"]) == [(0, 5), (18, 23)]
    with pytest.raises(ValueError, match="not found verbatim"):
        metrics.evidence_spans(document, "gamma Delta")


def test_citation_supports_by_overlap_or_by_quoting_the_answer():
    evidence = [(100, 150)]
    assert metrics.citation_supports((140, 200), "…", evidence, ["Kyiv"])
    assert metrics.citation_supports((0, 50), "the capital, Kyiv, is near", evidence, ["Kyiv"])
    assert not metrics.citation_supports((0, 50), "unrelated words", evidence, ["Kyiv"])


def test_retrieval_recall_and_reciprocal_rank():
    evidence = [(100, 140), (300, 340)]
    passages = [((0, 90), "no", True), ((95, 145), "has it", True), ((290, 350), "x", False),
                ((299, 341), "x", True)]
    assert metrics.retrieval_ranks(passages, evidence, ["zzz"]) == (1.0, 0.5)
    assert metrics.retrieval_ranks(passages[:2], evidence, ["zzz"]) == (0.5, 0.5)
    assert metrics.retrieval_ranks([((0, 90), "no", True)], evidence, ["zzz"]) == (0.0, 0.0)
    # a long gold paragraph counts as found when the overlapping passage holds the answer
    assert metrics.retrieval_ranks([((0, 120), "Kyiv", True)], [(100, 1000)], ["Kyiv"]) == (1.0, 1.0)


def test_percentiles_and_median():
    assert metrics.percentile([1, 2, 3, 4, 5], 50) == 3
    assert metrics.percentile([1, 2, 3, 4, 5], 95) == pytest.approx(4.8)
    assert metrics.percentile([], 95) == 0.0
    assert metrics.median([3, 1, 2]) == 2


def test_containment_reads_number_words_and_possessives():
    assert metrics.contains_answer("Arizona turned the ball over 7 times [1].", ["seven"])
    assert metrics.contains_answer("He had six touchdowns.", ["6"])
    assert metrics.contains_answer("Dale Chihuly's chandelier hangs there.", ["Dale Chihuly"])
    assert not metrics.contains_answer("He had sixteen touchdowns.", ["six"])


def test_wilson_interval():
    low, high = metrics.wilson(45, 50)
    assert low < 0.9 < high
    assert (round(low, 3), round(high, 3)) == (0.786, 0.957)
    assert metrics.wilson(0, 10)[0] == 0.0 and metrics.wilson(10, 10)[1] == 1.0
    assert metrics.wilson(3, 0) is None


def test_means_of_fractional_scores_get_an_interval():
    from eval.report import aggregate

    def row(recall):
        return {"kind": "single", "tags": [], "answerable": True, "correct": True,
                "abstained": False, "citations": 0, "good_citations": 0, "exact_quotes": 0,
                "exact_match": 1.0, "f1": 1.0, "context_recall": recall, "context_rr": recall,
                "probability": None, "would_be_right": True, "timings": {}}

    result = aggregate([row(1.0)] * 5 + [row(0.5)] * 5)
    assert result["context_recall"] == 0.75
    assert result["context_recall_ci"] == metrics.wilson(7.5, 10)
    low, high = result["exact_match_ci"]
    assert low < 0.75 and high == 1.0, "all right in 10 is not certainty"


def test_risk_coverage_answers_the_most_probable_first():
    curve = metrics.risk_coverage([0.9, 0.8, 0.3, 0.1], [True, False, True, False])
    assert curve["coverage"] == [0.25, 0.5, 0.75, 1.0]
    assert curve["risk"] == [0.0, 0.5, pytest.approx(1 / 3), 0.5]
    assert curve["aurc"] == pytest.approx(0.25 * (0 + 0.5 + 1 / 3 + 0.5))
    perfect = metrics.risk_coverage([0.9, 0.8, 0.3, 0.1], [True, True, False, False])
    assert perfect["aurc"] < curve["aurc"]
    tied = metrics.risk_coverage([0.5, 0.5], [True, False])
    assert tied["coverage"] == [1.0] and tied["risk"] == [0.5]


def test_reliability_bins():
    rows = metrics.reliability([0.05, 0.15, 0.95, 1.0, 0.92], [False, True, True, True, False],
                               bins=10)
    assert [(r["low"], r["n"]) for r in rows] == [(0.0, 1), (0.1, 1), (0.9, 3)]
    assert rows[-1]["observed"] == pytest.approx(2 / 3)
    assert rows[-1]["predicted"] == pytest.approx((0.95 + 1.0 + 0.92) / 3)


def test_each_miss_has_one_cause_in_pipeline_order():
    def row(answerable=True, correct=False, abstained=False, recall=1.0, draft_right=False,
            evidence=True):
        return {"answerable": answerable, "correct": correct, "abstained": abstained,
                "context_recall": recall, "draft_right": draft_right,
                "would_be_right": correct or (abstained and draft_right),
                "has_evidence": evidence}

    cases = [
        (row(correct=True), None),
        (row(answerable=False, abstained=True), None),
        (row(answerable=False), "unanswerable_answered"),
        (row(recall=0.0, draft_right=True, abstained=True), "not_in_context"),
        (row(recall=0.0, evidence=False), "wrong_draft_answered"),  # nothing to look for
        (row(recall=0.5), "wrong_draft_answered"),
        (row(abstained=True), "wrong_draft_declined"),
        (row(draft_right=True, abstained=True), "right_draft_declined"),
        (row(draft_right=True), "right_draft_changed"),
    ]
    assert [miss_cause(r) for r, _ in cases] == [cause for _, cause in cases]
    counts = miss_causes([r for r, _ in cases])
    assert list(counts) == list(CAUSES)
    assert counts["wrong_draft_answered"] == 2 and sum(counts.values()) == 7


def test_a_threshold_sweep_scores_the_answer_given_and_the_draft_declined():
    from eval.dataset import Question
    from eval.report import score, tradeoff
    from eval.systems import Prediction

    document = "The fleet had six warships and 900 troops."
    question = Question(id="q", question="How many warships?", answers=("six",),
                        evidence=("The fleet had six warships",), kind="single", doc="a.md")
    read = [{"source": "/docs/a.md", "start": 0, "end": len(document), "text": document}]
    edited = Prediction(id="q", question=question.question, answer="900 troops",
                        abstained=False, draft="six warships", confidence=0.8, passages=read)
    declined = Prediction(id="q", question=question.question, answer="", abstained=True,
                          draft="six warships", confidence=0.3, passages=read)
    spoiled = Prediction(id="q", question=question.question, answer="", abstained=True,
                         draft="six warships", checked="900 troops", confidence=0.3,
                         passages=read)
    rows = [score(question, edited, document), score(question, declined, document),
            score(question, spoiled, document)]
    assert [(r["correct"], r["draft_right"], r["would_be_right"]) for r in rows] == [
        (False, True, False), (False, True, True), (False, True, False)], \
        "a declined answer is scored as the checks left it, where that is recorded"
    rows = rows[:2]
    assert miss_cause(rows[0]) == "right_draft_changed"
    current = next(r for r in tradeoff(rows, 0.5) if r["current"])
    assert current["answer_accuracy"] == 0.0, "the sweep at today's threshold is the headline"
    assert current["risk"] == 1.0


def test_a_tag_group_keeps_questions_and_their_negatives_apart():
    from eval.report import by_group

    def row(answerable, correct, abstained):
        return {"kind": "single" if answerable else "unanswerable", "tags": ["reworded"],
                "answerable": answerable, "correct": correct, "abstained": abstained,
                "citations": 0, "good_citations": 0, "exact_quotes": 0, "exact_match": 0.0,
                "f1": 0.0, "context_recall": 1.0, "context_rr": 1.0, "probability": None,
                "would_be_right": correct, "timings": {}}

    groups = by_group([row(True, True, False), row(True, False, True), row(False, False, True),
                       row(False, False, False)])
    assert groups["tag:reworded"]["questions"] == 2
    assert groups["tag:reworded"]["wrong_among_answered"] == 0.0
    assert groups["tag:reworded (unanswerable)"]["abstention_accuracy"] == 0.5
