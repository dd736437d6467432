"""The known-facts sets are honest: evidence is verbatim, answers are in the evidence."""

from __future__ import annotations

from collections import Counter

import pytest

from eval.dataset import ARTICLE_DATASET, DatasetError, load_dataset
from eval.metrics import contains_answer, evidence_spans
from tests.conftest import CORPUS, ROOT, SQUAD

SQUAD_MISSING = pytest.mark.skipif(not SQUAD.is_dir(), reason="../shared/squad-dev-13 is absent")
SETS = [pytest.param(ARTICLE_DATASET, CORPUS, id="article"),
        pytest.param(SQUAD / "questions.jsonl", SQUAD / "corpus", id="squad-dev-13",
                     marks=SQUAD_MISSING),
        pytest.param(ROOT / "eval" / "data" / "squad-unanswerable.jsonl", SQUAD / "corpus",
                     id="squad-unanswerable", marks=SQUAD_MISSING)]


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
])
def test_bad_datasets_say_where(tmp_path, line, message):
    path = tmp_path / "q.jsonl"
    path.write_text(line + "\n")
    with pytest.raises(DatasetError, match=message):
        load_dataset(path)
