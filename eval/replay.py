"""Deciding stored drafts again, without the chat model.

An answer is retrieval (deterministic), the chat model's guess and draft (greedy: the
same each time for the same prompt), then the checks and the fitted decision. A refit
of the decision changes only that last part, so the drafts an eval or a calibration
stored can be decided again in minutes instead of asked again for an hour:

    rag eval --out runs/before ...             # asks the chat model, stores its drafts
    rag calibrate --out new.json ...           # a refit
    RAG_CALIBRATION_PATH=new.json rag eval --replay runs/before --out runs/after ...

That is only the same as asking again while what the drafts depend on is unchanged:
`asked_with()` pins the settings and prompts (an eval records them in report.json, a
calibration in `asked-with.json`), and a replayed question must have been asked after
the same conversation and read the same passages, word for word, or the replay stops.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from eval.systems import Prediction, conversation_digest, prediction
from rag import Assistant, Settings
from rag.cite import CheckedAnswer
from rag.errors import InputError
from rag.retrieve import Span
from rag.types import Answer

PINNED = ("backend", "model_path", "chunk_size", "chunk_overlap", "k", "context_sentences",
          "context_neighbours", "guess_below", "max_tokens", "temperature")
"""Settings that change what the model reads or writes, and so the answers stored."""


def asked_with(settings: Settings) -> dict:
    """What stored answers depend on: `PINNED` settings and a digest of the prompts."""
    from rag import prompt

    texts = [prompt.SYSTEM, prompt.HUMAN, prompt.JUDGE, prompt.GUESS_SYSTEM, prompt.GUESS]
    pinned = {name: getattr(settings, name) for name in PINNED}
    pinned["model_path"] = str(pinned["model_path"] or "bundled")
    pinned["prompts"] = _digest(texts)
    if settings.backend in ("openai", "ollama"):
        pinned["model"] = getattr(settings, f"{settings.backend}_model")
    return pinned


def run_asked_with(settings: Settings) -> dict:
    """What an eval run's answers depend on: `asked_with`, and the prompt that rewrites a
    follow-up to stand alone."""
    from rag.conversation import condense_prompt

    example = condense_prompt([("user", "Q"), ("assistant", "A")]).format(question="F")
    return {**asked_with(settings), "follow_up_prompt": _digest([example])}


def _digest(texts: list[str]) -> str:
    return hashlib.sha256("\0".join(texts).encode()).hexdigest()[:16]


def differs(before: dict, settings: Settings) -> str:
    """How `settings` would ask otherwise than `before` (an `asked_with` record), in
    words ("k=4 and this run has 6"); "" when they match."""
    now = asked_with(settings)
    changed = [name for name in now if before.get(name) != now[name]]
    if not changed:
        return ""
    name = changed[0]
    if name == "prompts":
        return "the prompts and this run has others"
    return f"{name}={before.get(name)!r} and this run has {now[name]!r}"


@dataclass(frozen=True)
class Redecided:
    answer: Answer
    """The `Answer` the assistant gives for the stored draft, with the stored guess."""
    checked: CheckedAnswer
    """The checked draft behind it."""


def redecide(assistant: Assistant, question: str, standalone: str, draft: str, guess: str,
             signals: dict, exclude: Sequence[Span] = ()) -> Redecided:
    """Decide a stored draft again with the assistant's current models: retrieval,
    ranking, citation checks and features are recomputed, with the stored `guess`
    searched where the question asked one. `signals` are the stored `Answer.signals`."""
    from rag.decide import Signals
    from rag.vectors import Vectors

    vectors = Vectors(assistant.index.embedder.embed_texts)
    stored = (lambda _: guess) if guess else None
    ranked, shown = assistant.read(standalone, vectors, exclude, guess=stored)
    checked = assistant.checker.check(standalone, draft, shown, vectors)
    answer = assistant.conclude(question, standalone, draft, shown, ranked, checked, vectors,
                                lambda: Signals(**signals))
    # as a run keeps them, weighed or not (a replay of a replay needs them too)
    return Redecided(replace(answer, guess=guess, signals=answer.signals or dict(signals)),
                     checked)


class ReplaySystem:
    """An eval system that answers from the predictions of an earlier run (in `folder`)
    instead of the chat model; see the module docstring."""

    def __init__(self, assistant: Assistant, folder: Path, name: str) -> None:
        self.assistant = assistant
        self.folder = folder
        self.name = name
        settings = assistant.settings
        report, predictions = folder / "report.json", folder / "predictions.jsonl"
        if not report.is_file() or not predictions.is_file():
            raise InputError(f"No eval run in {folder} (report.json and predictions.jsonl): "
                             f"pass the --out folder of an earlier rag eval.")
        try:
            config = json.loads(report.read_text(encoding="utf-8")).get("config", {})
        except (ValueError, AttributeError) as exc:
            raise InputError(f"{report} is not an eval report ({exc}): pass the --out "
                             f"folder of an earlier rag eval.") from None
        before = config.get("asked_with")
        if before is None:
            raise InputError(f"The run in {folder} does not record what it was asked with "
                             f"(it predates --replay): run the eval again without --replay.")
        if change := differs(before, settings):
            raise InputError(f"The run in {folder} was asked with {change}: run the eval "
                             f"again without --replay, or set it back.")
        follow_ups = run_asked_with(settings)["follow_up_prompt"]
        if before.get("follow_up_prompt", follow_ups) != follow_ups:
            raise InputError(f"The run in {folder} rewrote follow-ups with another prompt: "
                             f"run the eval again without --replay.")
        if settings.temperature != 0:
            raise InputError("A replay gives what asking again would only when the model "
                             "decodes greedily: set temperature to 0, or run the eval "
                             "without --replay.")
        if assistant.self_check:
            raise InputError("The decision model weighs the chat model's yes/no check, which "
                             "a replay cannot ask: run the eval again without --replay.")
        self.stored: dict[str, dict] = {}
        with predictions.open(encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    item = json.loads(line)
                    self.stored[item["id"]] = item

    def ask(self, qid: str, question: str, exclude: Sequence[Span] = (),
            history: Sequence[tuple[str, str]] = ()) -> Prediction:
        item = self.stored.get(qid)
        if item is None or item["question"] != question \
                or item.get("asked_after", "") != conversation_digest(history):
            raise InputError(f"The run in {self.folder} did not ask question {qid} as this "
                             f"one does: replay it with the same --dataset and --negatives.")
        redone = redecide(self.assistant, question, item.get("standalone") or question,
                          item["draft"], item.get("guess", ""), item.get("signals", {}),
                          exclude)
        # By file name: a stored run replays in another checkout or machine, where the
        # same documents lie under another folder.
        read = [(Path(p.source).name, p.start, p.end, p.text) for p in redone.answer.passages]
        if read != [(Path(p["source"]).name, p["start"], p["end"], p["text"])
                    for p in item["passages"]]:
            raise InputError(f"Question {qid} reads other passages than when the run in "
                             f"{self.folder} asked it (the documents, the index or the "
                             f"retrieval changed): run the eval again without --replay.")
        answer = replace(redone.answer, timings=item.get("timings", {}))
        return prediction(self.assistant, qid, question, answer, history)
