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
calibration in `asked-with.json`), and a replayed question must read the same passages
as when it was asked, or the replay stops.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from eval.systems import Prediction, prediction
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
    pinned["prompts"] = hashlib.sha256("\0".join(texts).encode()).hexdigest()[:16]
    return pinned


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
    return Redecided(replace(answer, guess=guess), checked)


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
        config = json.loads(report.read_text(encoding="utf-8")).get("config", {})
        before = config.get("asked_with")
        if before is None:
            raise InputError(f"The run in {folder} does not record what it was asked with "
                             f"(it predates --replay): run the eval again without --replay.")
        if change := differs(before, settings):
            raise InputError(f"The run in {folder} was asked with {change}: run the eval "
                             f"again without --replay, or set it back.")
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
        if item is None or item["question"] != question:
            raise InputError(f"The run in {self.folder} did not ask question {qid} as this "
                             f"one does: replay it with the same --dataset and --negatives.")
        redone = redecide(self.assistant, question, item.get("standalone") or question,
                          item["draft"], item.get("guess", ""), item.get("signals", {}),
                          exclude)
        read = [(p.source, p.start, p.end) for p in redone.answer.passages]
        if read != [(p["source"], p["start"], p["end"]) for p in item["passages"]]:
            raise InputError(f"Question {qid} reads other passages than when the run in "
                             f"{self.folder} asked it (the documents, the index or the "
                             f"retrieval changed): run the eval again without --replay.")
        answer = replace(redone.answer, timings=item.get("timings", {}))
        return prediction(self.assistant, qid, question, answer)
