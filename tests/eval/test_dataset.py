"""The known-facts sets are honest: evidence is verbatim, answers are in the evidence."""

from __future__ import annotations

from collections import Counter

import pytest

from eval import followups
from eval.dataset import ARTICLE_DATASET, DatasetError, load_dataset
from eval.metrics import contains_answer, evidence_spans
from tests.conftest import CORPUS, ROOT, SQUAD

SQUAD_MISSING = pytest.mark.skipif(not SQUAD.is_dir(), reason="../shared/squad-dev-13 is absent")
SETS = [pytest.param(ARTICLE_DATASET, CORPUS, id="article"),
        pytest.param(SQUAD / "questions.jsonl", SQUAD / "corpus", id="squad-dev-13",
                     marks=SQUAD_MISSING),
        pytest.param(ROOT / "eval" / "data" / "squad-unanswerable.jsonl", SQUAD / "corpus",
                     id="squad-unanswerable", marks=SQUAD_MISSING),
        pytest.param(ROOT / "eval" / "data" / "squad-followups.jsonl", SQUAD / "corpus",
                     id="squad-followups", marks=SQUAD_MISSING),
        pytest.param(ROOT / "eval" / "data" / "squad-followups-dev.jsonl", SQUAD / "corpus",
                     id="squad-followups-dev", marks=SQUAD_MISSING)]


@pytest.mark.parametrize(("dataset", "corpus"), SETS)
def test_evidence_is_verbatim_and_holds_an_answer(dataset, corpus):
    for q in load_dataset(dataset):
        text = (corpus / q.doc).read_text(encoding="utf-8")
        spans = evidence_spans(text, q.evidence)  # raises if not verbatim
        if q.answerable:
            assert len(spans) == len(q.evidence) >= 1
            assert any(contains_answer(e, q.answers) for e in q.evidence), q.id
        else:
            assert q.answers == () and q.evidence == ()


def test_article_set_has_the_required_mix():
    questions = load_dataset(ARTICLE_DATASET)
    kinds = Counter(q.kind for q in questions)
    assert len(questions) >= 40
    assert kinds["unanswerable"] >= 8
    assert kinds["multi-hop"] >= 3
    assert all(len(q.evidence) >= 2 for q in questions if q.kind == "multi-hop")
    assert sum("paraphrase" in q.tags for q in questions) >= 5
    assert {"lookup", "number", "who", "quote"} <= kinds.keys()


@pytest.mark.parametrize(("line", "message"), [
    ('{"id": "x"}', "missing"),
    ('{"id":"x","question":"q","answers":[],"evidence":"","kind":"guess","doc":"d"}', "kind"),
    ('{"id":"x","question":"q","answers":[],"evidence":"","kind":"lookup","doc":"d"}', "needs"),
    ("not json", "not JSON"),
    ('{"id":"x","question":"q","answers":[],"evidence":"","kind":"unanswerable","doc":"d",'
     '"history":[["system","hi"]]}', "history"),
])
def test_bad_datasets_say_where(tmp_path, line, message):
    path = tmp_path / "q.jsonl"
    path.write_text(line + "\n")
    with pytest.raises(DatasetError, match=message):
        load_dataset(path)


@SQUAD_MISSING
@pytest.mark.parametrize(("targets", "committed"), [
    ("questions.jsonl", "squad-followups.jsonl"), ("pool.jsonl", "squad-followups-dev.jsonl")])
def test_follow_up_sets_are_rebuilt_exactly_by_their_command(tmp_path, targets, committed):
    out = tmp_path / committed
    assert followups.main([str(SQUAD / targets), str(SQUAD / "pool.jsonl"), str(out)]) == 0
    assert out.read_text() == (ROOT / "eval" / "data" / committed).read_text()
    questions = load_dataset(out)
    assert all(q.question.startswith("And how ") and len(q.history) == 2 for q in questions)
    assert all(q.history[0][0] == "user" and q.history[1][0] == "assistant" for q in questions)


def test_a_follow_up_keeps_what_the_conversation_or_the_article_makes_clear():
    assert followups.elliptical("How many warships did Russia send?") == (
        "And how many warships?", "warships")
    assert followups.elliptical("How many did Russia send?") is None
    assert followups.elliptical("Who sent the warships?") is None
    target = {"question": "How many seasons did The Love Boat run for?",
              "evidence": "The Love Boat ran for nine seasons."}
    lead = {"question": "Who produced The Love Boat?", "answers": ["Aaron Spelling"]}
    other = {"question": "Who produced Roots?", "answers": ["David Wolper"]}
    article = "Roots ran for two seasons. The Love Boat ran for nine seasons."
    assert followups.recoverable(target, "seasons", lead, article)
    assert not followups.recoverable(target, "seasons", other, article)
    assert followups.recoverable(target, "seasons", other, "The Love Boat ran for nine seasons.")
