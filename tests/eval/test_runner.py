"""`rag eval` end to end: real index, real embedder, files written. The answer-quality
gate with the real model is test_gate.py; here the plumbing runs fast."""

from __future__ import annotations

import json
import tempfile

from langchain_core.language_models.fake_chat_models import FakeListChatModel

from eval.dataset import ARTICLE_DATASET
from eval.runner import run_eval
from rag import Settings
from tests.conftest import CORPUS


def test_report_files_and_side_by_side_comparison(tmp_path, monkeypatch):
    out = tmp_path / "report"
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    scripted = FakeListChatModel(responses=["Some 30,000 Russian troops [1].", "I don't know."])
    results = run_eval([ARTICLE_DATASET], CORPUS, Settings(index_dir=tmp_path / "ix"), out,
                       compare="naive", limit=4, progress=False, chat_model=scripted)
    assert list(results) == ["local", "naive"]
    assert not list(scratch.glob("rag-naive-*"))  # its Chroma folder is gone with the run
    for name in ("predictions.jsonl", "predictions-naive.jsonl", "report.md", "report.json",
                 "chart.png"):
        assert (out / name).stat().st_size > 0
    assert (out / "chart.png").read_bytes().startswith(b"\x89PNG")
    lines = (out / "predictions.jsonl").read_text().splitlines()
    assert len(lines) == 4
    first = json.loads(lines[0])
    assert {"id", "question", "answer", "abstained", "citations", "passages", "timings"} <= \
        first.keys()
    report = (out / "report.md").read_text()
    assert "| metric | local | naive |" in report
    assert "## Abstention trade-off (local)" in report
    assert "## Failures (local)" in report
    assert "## Where the misses come from" in report
    summary = json.loads((out / "report.json").read_text())
    assert summary["systems"]["local"]["metrics"]["questions"] == 4
    assert summary["systems"]["naive"]["metrics"]["citations"] == 0
    causes = summary["systems"]["local"]["miss_causes"]
    local = summary["systems"]["local"]["metrics"]
    misses = (local["answerable"] - local["n_correct"]
              + local["unanswerable"] - local["n_abstained_unanswerable"])
    assert sum(causes.values()) == misses


def _bees(tmp_path):
    """A one-document corpus about bees."""
    corpus = tmp_path / "docs"
    corpus.mkdir()
    (corpus / "bees.md").write_text("# Bees\n\nA honey bee colony has one queen. Worker bees "
                                    "live for about six weeks in summer.\n")
    return corpus


def test_extractive_backend_on_any_folder_and_questions(tmp_path):
    corpus = _bees(tmp_path)
    questions = tmp_path / "q.jsonl"
    questions.write_text(json.dumps({
        "id": "b1", "question": "How long do worker bees live in summer?",
        "answers": ["six weeks"], "evidence": "Worker bees live for about six weeks in summer.",
        "kind": "number", "doc": "bees.md"}) + "\n")
    results = run_eval([questions], corpus, Settings(index_dir=tmp_path / "ix",
                                                     backend="extractive"),
                       tmp_path / "out", progress=False)
    metrics = results["extractive"]["metrics"]
    assert metrics["answer_accuracy"] == 1.0
    assert metrics["citation_precision"] == 1.0
    assert metrics["quotes_exact"] == 1.0  # checked against the cited document's text,
    prediction = results["extractive"]["predictions"][0]  # which is not kept afterwards
    assert prediction.citations and not prediction.document_texts


def test_a_follow_up_is_asked_after_its_history_and_the_set_is_marked_by_its_name(tmp_path):
    corpus = _bees(tmp_path)
    questions = tmp_path / "bees-dev.jsonl"
    questions.write_text(json.dumps({
        "id": "b1", "question": "And the workers?", "answers": ["six weeks"],
        "evidence": "Worker bees live for about six weeks in summer.", "kind": "number",
        "doc": "bees.md", "history": [["user", "How many queens does a colony have?"],
                                      ["assistant", "A colony has one queen."]]}) + "\n")
    # the first reply is the rewrite: it is asked only because the history came along
    scripted = FakeListChatModel(responses=["How long do worker bees live in summer?",
                                            "Worker bees live for about six weeks [1]."])
    results = run_eval([questions], corpus, Settings(index_dir=tmp_path / "ix"),
                       tmp_path / "out", progress=False, chat_model=scripted)
    (prediction,) = results["local"]["predictions"]
    assert prediction.standalone == "How long do worker bees live in summer?"
    assert prediction.guess == ""  # it matches the text well: no guess was asked or stored
    assert results["local"]["metrics"]["answer_accuracy"] == 1.0
    report = (tmp_path / "out" / "report.md").read_text()
    assert "`bees-dev.jsonl` FITTED OR TUNED ON" in report


def test_evidence_that_is_not_in_its_document_stops_the_run_before_any_question(tmp_path):
    import pytest

    from rag.errors import InputError

    corpus = _bees(tmp_path)
    questions = tmp_path / "q.jsonl"
    good = {"id": "b1", "question": "How long do worker bees live in summer?",
            "answers": ["six weeks"], "evidence": "Worker bees live for about six weeks in summer.",
            "kind": "number", "doc": "bees.md"}
    bad = {**good, "id": "b2", "evidence": "Worker bees live for about “six” weeks in summer."}
    questions.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n")
    never = FakeListChatModel(responses=[])  # asked anything, it fails
    with pytest.raises(InputError, match=r"^Question b2: its evidence is not verbatim in bees.md"):
        run_eval([questions], corpus, Settings(index_dir=tmp_path / "ix"), tmp_path / "out",
                 progress=False, chat_model=never)
    assert not (tmp_path / "out").exists()


def test_a_set_that_asks_fitting_questions_is_not_called_held_out(tmp_path):
    from eval.runner import held_out

    pool = tmp_path / "pool.jsonl"
    pool.write_text(json.dumps({"id": "q1"}) + "\n" + json.dumps({"id": "q2"}) + "\n")
    line = {"question": "How long do worker bees live?", "answers": ["six weeks"],
            "evidence": "six weeks", "kind": "number", "doc": "bees.md"}
    fresh, sampled, reworded = (tmp_path / n for n in ("fresh.jsonl", "sample.jsonl",
                                                        "mine.jsonl"))
    fresh.write_text(json.dumps({**line, "id": "q9"}) + "\n")
    sampled.write_text(json.dumps({**line, "id": "q2"}) + "\n")
    reworded.write_text(json.dumps({**line, "id": "q1-paraphrased"}) + "\n")
    found = held_out([fresh, sampled, reworded], Settings(index_dir=tmp_path / "ix"),
                     fitting=(pool,))
    assert found == {"fresh.jsonl": True, "sample.jsonl": False, "mine.jsonl": False}
