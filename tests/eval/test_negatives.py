"""Evidence-removal negatives: the answer must be nowhere else in the document."""

from __future__ import annotations

from eval.dataset import Question
from eval.negatives import evidence_removed

DOCUMENT = ("Bees\n\nA colony has one queen. Workers live six weeks.\n\n"
            "Drones have no sting.\n\nThe queen lays eggs all summer.")


def question(qid: str, answers: tuple[str, ...], evidence: str) -> Question:
    return Question(qid, "?", answers, (evidence,), "lookup", "bees.md")


def test_a_question_whose_answer_is_nowhere_else_becomes_unanswerable():
    [negative] = evidence_removed([question("q1", ("six weeks",), "Workers live six weeks.")],
                                  {"bees.md": DOCUMENT})
    assert negative.id == "q1-removed"
    assert negative.kind == "unanswerable" and not negative.answerable
    assert negative.answers == () and negative.evidence == ()
    # the whole paragraph of the evidence is hidden, not just the evidence text
    assert negative.removed == ("A colony has one queen. Workers live six weeks.",)
    assert "evidence-removed" in negative.tags


def test_an_answer_stated_in_another_paragraph_gives_no_negative():
    assert evidence_removed([question("q2", ("queen",), "A colony has one queen.")],
                            {"bees.md": DOCUMENT}) == []


def test_unanswerable_questions_and_unknown_documents_are_skipped():
    unanswerable = Question("u", "?", (), (), "unanswerable", "bees.md")
    other = Question("o", "?", ("x",), ("x",), "lookup", "other.md")
    assert evidence_removed([unanswerable, other], {"bees.md": DOCUMENT}) == []
