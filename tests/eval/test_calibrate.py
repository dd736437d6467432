"""`rag calibrate` end to end on a small corpus written here: sampling, asking (with a
reader that quotes the first passage, a stand-in for the chat model that makes the
plumbing exact), resuming, fitting both models and writing a file the assistant loads.
The real calibration runs on the SQuAD-dev-13 pool with the real model (`make
calibrate`)."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import pytest
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from eval.calibrate import (Record, Replay, out_of_fold_chances, paraphrased, pin, replay,
                            run, sample, stored)
from eval.dataset import load_dataset
from rag import Assistant, Settings
from rag.calibration import load_calibration
from rag.decide import FEATURE_NAMES
from rag.errors import InputError, PathNotFoundError

TOPICS = {
    "bees": ["Honey bees live in colonies.", "A colony has one queen that lays the eggs.",
             "Worker bees live for about six weeks in summer.",
             "Drones are the male bees of the colony."],
    "rivers": ["The Loire is the longest river in France.", "It flows for 1,006 kilometres.",
               "Its source is Mont Gerbier de Jonc.", "The river ends at Saint-Nazaire."],
    "lighthouses": ["The Eddystone lighthouse stands off Plymouth.",
                    "John Smeaton designed the third tower.",
                    "Its light was first lit in 1759.",
                    "The present tower was built by James Douglass."],
}


class FirstPassageReader(BaseChatModel):
    """Answers with the first sentence of passage [1], or says yes to a check."""

    calls: int = 0

    @property
    def _llm_type(self) -> str:
        return "first-passage-reader"

    def _generate(self, messages, stop=None, run_manager=None, **kwargs) -> ChatResult:
        type(self).calls += 1
        prompt = str(messages[-1].content)
        found = re.search(r"^\[1\] (.+?[.!?])(?:\s|$)", prompt, re.M)
        if prompt.endswith("Paraphrase:"):  # asked to reword a question
            text = "Put differently, " + prompt.split("\n")[0].removeprefix("Question: ").lower()
        else:
            text = f"{found.group(1)} [1]" if found else "The documents do not say."
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])


@pytest.fixture()
def pool(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    rows = []
    for topic, sentences in TOPICS.items():
        paragraphs = [f"{s} {s.replace('.', ' indeed.')}" for s in sentences]
        (corpus / f"{topic}.txt").write_text(topic.title() + "\n\n" + "\n\n".join(paragraphs))
        for i, sentence in enumerate(sentences):
            answer = sentence.rstrip(".").split()[-1]
            rows.append({"id": f"{topic}-{i}", "question": f"What about {sentence.split()[1]}?",
                         "answers": [answer], "evidence": paragraphs[i], "kind": "lookup",
                         "doc": f"{topic}.txt", "para": i})
    path = tmp_path / "pool.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path, corpus


def test_sample_spreads_over_articles_and_keeps_negatives_apart(pool):
    path, corpus = pool
    questions = load_dataset(path)
    documents = {p.name: p.read_text() for p in corpus.iterdir()}
    chosen = sample(questions, documents, answerable=6, negatives=3)
    answerable = [q for q in chosen if q.answerable]
    negatives = [q for q in chosen if not q.answerable]
    assert len(answerable) == 6 and {q.doc for q in answerable} == set(documents)
    assert len(negatives) == 3 and all(q.removed for q in negatives)
    assert not {q.id for q in answerable} & {q.id.removesuffix("-removed") for q in negatives}
    assert chosen == sample(questions, documents, answerable=6, negatives=3)  # seeded


def test_calibrate_fits_both_models_and_resumes(pool, tmp_path):
    path, corpus = pool
    out = tmp_path / "calibration.json"
    FirstPassageReader.calls = 0
    paraphrases = tmp_path / "paraphrased.jsonl"
    ids = [q.id for q in load_dataset(path)]
    paraphrases.write_text("".join(json.dumps({"id": i, "question": f"Ask {i} anew?"}) + "\n"
                                   for i in ids + [i + "-removed" for i in ids]))
    calibration = run(path, corpus, answerable=9, negatives=6, work=tmp_path / "work", out=out,
                      progress=False, chat_model=FirstPassageReader(), reworded=4,
                      paraphrases=paraphrases)
    asked = FirstPassageReader.calls
    records = [json.loads(line) for line in
               (tmp_path / "work" / "records.jsonl").read_text().splitlines()]
    meta = calibration.meta
    reworded = [r for r in records if r["id"].endswith("-reworded")]
    assert meta["reworded"] == len(reworded) == 4
    assert all(r["question"].startswith("Put differently, ") for r in reworded)
    # every sampled question, answerable or not, is asked again in its written wording
    written = [r for r in records if r["id"].endswith("-paraphrased")]
    originals = [r for r in records if not r["id"].endswith(("-paraphrased", "-reworded"))]
    assert meta["paraphrased"] == len(written) == len(originals)
    assert {r["id"].removesuffix("-paraphrased") for r in written} == {r["id"] for r in originals}
    assert all(r["question"] == f"Ask {r['id'].removesuffix('-paraphrased')} anew?"
               for r in written)
    assert any(r["removed"] for r in written) and any(not r["removed"] for r in written)
    assert meta["answerable"] >= 9 and 1 <= meta["negatives"] <= 16
    assert len(records) == meta["questions"] == meta["answerable"] + meta["negatives"]
    assert asked >= len(records) - sum(r["draft"] == "The documents do not say." for r in records)
    assert sum(bool(r["removed"]) for r in records) == meta["negatives"]
    loaded = load_calibration(out)
    # the reader gives no token probabilities, so its self-check cannot pay for itself
    assert loaded.answer.features == tuple(n for n in FEATURE_NAMES if n != "p_yes")
    assert calibration.meta["answer"]["self_check"] is False
    assert loaded.support.features == calibration.support.features
    assert loaded.answer.coef == calibration.answer.coef
    report = (tmp_path / "work" / "report.md").read_text()
    assert "## Reliability (out of fold)" in report
    assert "## Decisions (out of fold, declining below 0.5)" in report
    table = {line.split(" | ")[0].strip("| "): [int(x) for x in line.strip(" |").split(" | ")[1:]]
             for line in report.splitlines()
             if line.startswith(("| original", "| reworded", "| paraphrased", "| negative"))}
    assert set(table) == {"original", "reworded", "paraphrased", "negative"}
    assert sum(row[0] for row in table.values()) == len(records)
    assert all(row[0] == sum(row[1:]) for row in table.values())
    assert table["negative"][0] == meta["negatives"] and table["negative"][1] == 0
    assert "## Where the misses come from (out of fold)" in report
    causes = report.split("## Where the misses come from (out of fold)")[1]
    counts = [[int(x) for x in line.strip(" |").split(" | ")[1:]]
              for line in causes.splitlines() if line.startswith("| ") and "cause" not in line]
    missed = [sum(column) for column in zip(*counts)]
    # every question of a kind is right, rightly declined or a miss of exactly one cause
    for (kind, row), count in zip(table.items(), missed):
        wrongly_declined = row[3] if kind != "negative" else 0
        answered_wrong = row[2] if kind != "negative" else row[1] + row[2]
        assert count == wrongly_declined + answered_wrong, kind
    replays = [json.loads(line) for line in
               (tmp_path / "work" / "replays.jsonl").read_text().splitlines()]
    assert all(0.0 <= r["chance_out_of_fold"] <= 1.0 for r in replays)
    assert all(r["chance_out_of_fold"] == 0.0 for r in replays if r["veto"])

    assert json.loads((tmp_path / "work" / "asked-with.json").read_text())["guess_below"] == 0.4
    again = run(path, corpus, answerable=9, negatives=6, work=tmp_path / "work", out=out,
                progress=False, chat_model=FirstPassageReader(), reworded=4,
                paraphrases=paraphrases)
    assert FirstPassageReader.calls == asked  # every answer came from records.jsonl
    assert again.answer.coef == calibration.answer.coef

    assistant = Assistant(Settings(index_dir=tmp_path / "work" / "index", calibration_path=out),
                          chat_model=FirstPassageReader())
    answer = assistant.ask("What about Loire?")
    assert 0.0 <= answer.confidence <= 1.0


def test_a_replayed_record_searches_the_guess_it_was_asked_with(corpus_settings):
    question = "What did Moscow do with its navy?"
    guess = "Moscow sent its warships to the Black Sea."
    settings = Settings(index_dir=corpus_settings.index_dir, guess_below=1.0)
    assistant = Assistant(settings, chat_model=FakeListChatModel(
        responses=[guess, "Six warships [1]."]))
    answer = assistant.ask(question)
    assert answer.guess == guess
    record = Record("navy", question, "article", ["six"], [], [], answer.draft, answer.signals,
                    answer.guess)
    again = replay(assistant, record)
    texts = [p.text for p in answer.passages]
    assert [p.text for p in again.answer.passages] == texts
    assert again.answer.confidence == pytest.approx(answer.confidence)
    # without the guess the replay would decide on other passages than the model read
    assert [p.text for p in replay(assistant, replace(record, guess="")).answer.passages] != texts


def test_answers_asked_otherwise_are_not_added_to_stored_ones(tmp_path, monkeypatch):
    pin(tmp_path, Settings(index_dir=tmp_path / "index"))
    pin(tmp_path, Settings(index_dir=tmp_path / "index"))  # the same: a resume
    with pytest.raises(InputError, match=r"context_sentences=5 and this run has 7: pass a new "
                                         r"--work folder"):
        pin(tmp_path, Settings(index_dir=tmp_path / "index", context_sentences=7))
    monkeypatch.setattr("rag.prompt.GUESS", "Guess the answer: {question}")
    with pytest.raises(InputError, match="asked with the prompts and this run has others"):
        pin(tmp_path, Settings(index_dir=tmp_path / "index"))


def test_an_answer_cut_short_by_a_kill_is_asked_again_and_the_rest_kept(tmp_path):
    path = tmp_path / "records.jsonl"
    kept = Record("a", "Q?", "d.txt", ["x"], [], [], "X [1].", {}, "")
    line = json.dumps(kept.__dict__) + "\n"
    path.write_text(line + line.replace('"a"', '"b"')[:40])
    assert stored(path) == {"a": kept}
    assert path.read_text() == line  # appending resumes on a whole line
    path.write_text(line + "{oops\n" + line)
    with pytest.raises(InputError, match=r"line 2: not a stored answer .*delete the line"):
        stored(path)
    assert stored(tmp_path / "none.jsonl") == {}


def test_a_bad_paraphrase_file_names_the_line_and_the_fix(pool, tmp_path):
    path, _ = pool
    questions = load_dataset(path)
    bad = tmp_path / "paraphrased.jsonl"
    bad.write_text(json.dumps({"id": questions[0].id, "question": "Anew?"}) + "\n{oops\n")
    with pytest.raises(InputError, match=r"line 2: expected a JSON object"):
        paraphrased(questions, bad)
    with pytest.raises(PathNotFoundError, match="--paraphrased"):
        paraphrased(questions, tmp_path / "missing.jsonl")
    assert paraphrased(questions, None) == []


def test_out_of_fold_chances_line_up_with_the_answers_they_weigh():
    def item(veto: str) -> Replay:
        return Replay(record=None, answer=None, checked=None, veto=veto)

    replays = [item(""), item("a number no passage holds"), item(""), item("")]
    assert out_of_fold_chances(replays, [0.9, 0.2, 0.6]) == [0.9, 0.0, 0.2, 0.6]
    for wrong in ([0.9, 0.2], [0.9, 0.2, 0.6, 0.1]):
        with pytest.raises(ValueError, match="out-of-fold chances for 3 weighed answers"):
            out_of_fold_chances(replays, wrong)
