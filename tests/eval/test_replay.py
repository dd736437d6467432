"""`rag eval --replay`: the drafts of an earlier run decided again without the chat model,
and refused wherever that would not be what asking again gives."""

from __future__ import annotations

import json
import re

import pytest
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from eval.dataset import ARTICLE_DATASET
from eval.runner import run_eval
from rag import Settings
from rag.errors import InputError
from tests.conftest import CORPUS


class FirstPassageReader(BaseChatModel):
    """Answers with the first sentence of passage [1] (a stand-in for the chat model)."""

    @property
    def _llm_type(self) -> str:
        return "first-passage-reader"

    def _generate(self, messages, stop=None, run_manager=None, **kwargs) -> ChatResult:
        found = re.search(r"^\[1\] (.+?[.!?])(?:\s|$)", str(messages[-1].content), re.M)
        text = f"{found.group(1)} [1]" if found else "The documents do not say."
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])


class NoChatModel(BaseChatModel):
    """Fails the test if a replay asks the chat model anything."""

    @property
    def _llm_type(self) -> str:
        return "no-chat-model"

    def _generate(self, messages, stop=None, run_manager=None, **kwargs):
        raise AssertionError("a replay asked the chat model")


def _eval(settings: Settings, out, replay=None, limit=6):
    return run_eval([ARTICLE_DATASET], CORPUS, settings, out, limit=limit, progress=False,
                    negatives=True,
                    chat_model=NoChatModel() if replay else FirstPassageReader(),
                    replay=replay)


def _predictions(folder) -> list[dict]:
    return [json.loads(line) for line in (folder / "predictions.jsonl").open()]


@pytest.fixture(scope="module")
def asked(tmp_path_factory):
    """An eval run with a stand-in chat model: 6 questions and their negatives (with a
    low bar, so that some of its poor drafts are given)."""
    folder = tmp_path_factory.mktemp("replay")
    settings = Settings(index_dir=folder / "index", abstain_below=0.2)
    _eval(settings, folder / "asked")
    return settings, folder / "asked"


def test_a_replay_gives_what_the_run_gave_without_the_chat_model(asked, tmp_path):
    settings, folder = asked
    _eval(settings, tmp_path / "again", replay=folder)
    before, after = _predictions(folder), _predictions(tmp_path / "again")
    assert len(before) == len(after) > 6
    assert any(not p["abstained"] for p in before) and any(p["abstained"] for p in before)
    for a, b in zip(before, after):
        assert (b["id"], b["answer"], b["abstained"], b["citations"], b["passages"],
                b["timings"]) == (a["id"], a["answer"], a["abstained"], a["citations"],
                                  a["passages"], a["timings"])
        assert b["confidence"] == pytest.approx(a["confidence"])
    config = json.loads((tmp_path / "again" / "report.json").read_text())["config"]
    assert str(folder) in config["replayed_from"]


def test_a_replay_decides_again_under_the_decision_of_now(asked, tmp_path):
    settings, folder = asked
    strict = settings.model_copy(update={"abstain_below": 0.999})
    _eval(strict, tmp_path / "strict", replay=folder)
    before, after = _predictions(folder), _predictions(tmp_path / "strict")
    assert all(p["abstained"] for p in after)
    assert [p["confidence"] for p in after] == pytest.approx([p["confidence"] for p in before])


def test_a_replay_asked_otherwise_is_refused(asked, tmp_path):
    settings, folder = asked
    with pytest.raises(InputError, match=r"asked with k=6 and this run has 4: run the eval "
                                         r"again without --replay"):
        _eval(settings.model_copy(update={"k": 4}), tmp_path / "k4", replay=folder)
    with pytest.raises(InputError, match="did not ask question a07"):
        _eval(settings, tmp_path / "more", replay=folder, limit=7)


def _copy(folder, to, change_report=None, change_predictions=None):
    """The run in `folder`, copied to `to` with an edit."""
    to.mkdir()
    report = json.loads((folder / "report.json").read_text())
    predictions = _predictions(folder)
    if change_report:
        change_report(report)
    if change_predictions:
        change_predictions(predictions)
    (to / "report.json").write_text(json.dumps(report))
    (to / "predictions.jsonl").write_text("".join(json.dumps(p) + "\n" for p in predictions))
    return to


@pytest.mark.parametrize("field", ["start", "text"])
def test_a_replay_that_reads_other_passages_stops(asked, tmp_path, field):
    """As if the index, or a document's words (same length), had changed since."""
    settings, folder = asked

    def edit(predictions):
        passage = predictions[2]["passages"][0]
        passage[field] = passage[field] + 1 if field == "start" else passage[field].swapcase()

    copy = _copy(folder, tmp_path / "copy", change_predictions=edit)
    with pytest.raises(InputError, match=f"Question {_predictions(folder)[2]['id']} reads "
                                         f"other passages"):
        _eval(settings, tmp_path / "again", replay=copy)


def test_a_run_stored_from_another_checkout_replays(asked, tmp_path):
    """The documents lay under another folder when the run was asked (a run stored in
    eval/runs, replayed on another machine): the passages match by file name."""
    settings, folder = asked

    def elsewhere(predictions):
        for prediction in predictions:
            for item in prediction["passages"] + prediction["citations"]:
                item["source"] = "/elsewhere/corpus/" + item["source"].rsplit("/", 1)[-1]

    copy = _copy(folder, tmp_path / "copy", change_predictions=elsewhere)
    _eval(settings, tmp_path / "again", replay=copy)
    assert [p["answer"] for p in _predictions(tmp_path / "again")] == [
        p["answer"] for p in _predictions(folder)]


def test_a_follow_up_asked_after_another_conversation_is_refused(asked, tmp_path):
    settings, folder = asked

    def follow_up(predictions):
        predictions[0]["asked_after"] = "0123456789abcdef"

    copy = _copy(folder, tmp_path / "copy", change_predictions=follow_up)
    with pytest.raises(InputError, match="did not ask question a01 as this one does"):
        _eval(settings, tmp_path / "again", replay=copy)

    def other_rewrite(report):
        report["config"]["asked_with"]["follow_up_prompt"] = "0123456789abcdef"

    copy = _copy(folder, tmp_path / "rewrite", change_report=other_rewrite)
    with pytest.raises(InputError, match="rewrote follow-ups with another prompt"):
        _eval(settings, tmp_path / "again", replay=copy)


def test_a_replayed_follow_up_records_its_conversation(asked, tmp_path):
    """So that a replay can itself be replayed."""
    from eval.replay import ReplaySystem
    from eval.systems import conversation_digest
    from rag import Assistant

    settings, folder = asked
    history = [("Who called whom?", "The US defense chief called his Belarusian peer.")]

    def follow_up(predictions):
        predictions[0]["asked_after"] = conversation_digest(history)

    copy = _copy(folder, tmp_path / "copy", change_predictions=follow_up)
    replayed = ReplaySystem(Assistant(settings, chat_model=NoChatModel()), copy, "local")
    first = _predictions(copy)[0]
    again = replayed.ask(first["id"], first["question"], history=history)
    assert again.asked_after == conversation_digest(history) != ""


def test_a_run_that_sampled_is_not_replayed(asked, tmp_path):
    settings, folder = asked

    def sampled(report):
        report["config"]["asked_with"]["temperature"] = 0.7

    copy = _copy(folder, tmp_path / "copy", change_report=sampled)
    with pytest.raises(InputError, match="decodes greedily"):
        _eval(settings.model_copy(update={"temperature": 0.7}), tmp_path / "again",
              replay=copy)


def test_a_replayed_answer_keeps_the_signals_it_was_given(asked):
    from eval.replay import redecide
    from rag import Assistant

    settings, _ = asked
    signals = {"logprob_mean": -0.4, "logprob_min": -2.0, "p_yes": None,
               "new_logprob_min": -2.0, "new_logprob_mean": -1.0}
    redone = redecide(Assistant(settings), "What is the capital of Australia?",
                      "What is the capital of Australia?", "The documents do not say.", "",
                      signals)
    assert redone.answer.abstained and redone.answer.signals == signals


def test_a_run_from_before_replays_is_refused(asked, tmp_path):
    settings, folder = asked
    copy = _copy(folder, tmp_path / "old",
                 change_report=lambda report: report["config"].pop("asked_with"))
    with pytest.raises(InputError, match="predates --replay"):
        _eval(settings, tmp_path / "again", replay=copy)
    with pytest.raises(InputError, match="No eval run in"):
        _eval(settings, tmp_path / "again", replay=tmp_path / "nowhere")
    (copy / "report.json").write_text("{not json")
    with pytest.raises(InputError, match="is not an eval report"):
        _eval(settings, tmp_path / "again", replay=copy)
