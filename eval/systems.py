"""The systems an eval can run, all behind one `ask(question) -> Prediction`.

- `AssistantSystem`: our pipeline, through the public `Assistant` API only.
- `NaiveSystem` (in `eval.naive`): the LangChain tutorial recipe, same models.
- `ReplaySystem` (in `eval.replay`): our pipeline deciding the drafts of an earlier run
  again, without the chat model (`rag eval --replay`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Protocol

from rag import Assistant
from rag.retrieve import Span
from rag.types import Answer


@dataclass
class Prediction:
    id: str
    question: str
    answer: str
    abstained: bool
    citations: list[dict] = field(default_factory=list)
    """{"marker", "source", "start", "end", "quote"} per citation."""
    passages: list[dict] = field(default_factory=list)
    """{"source", "start", "end", "text"} per retrieved passage, best first."""
    timings: dict[str, float] = field(default_factory=dict)
    draft: str = ""
    """What the model wrote before checks."""
    checked: str = ""
    """The draft as the checks left it: what a lower threshold would give (to score
    answers at other thresholds; "" in runs from before 2026-11-29)."""
    standalone: str = ""
    """The question as searched: a follow-up rewritten to stand alone."""
    asked_after: str = ""
    """A digest of the conversation a follow-up was asked after ("" for none)."""
    guess: str = ""
    """The model's guess at the answer's sentence, searched too ("" when none was asked)."""
    confidence: float | None = None
    """The assistant's chance that its answer is right (None for systems without one)."""
    abstain_reason: str = ""
    features: dict = field(default_factory=dict)
    signals: dict = field(default_factory=dict)
    document_texts: dict[str, str] = field(default_factory=dict, repr=False)
    """Text of each cited source as indexed (to check quotes); not written out."""

    def to_json(self) -> dict:
        data = asdict(self)
        data.pop("document_texts")
        return data


def conversation_digest(history: Sequence[tuple[str, str]]) -> str:
    """Tells apart the conversations a question was asked after ("" for none)."""
    if not history:
        return ""
    turns = "\0".join(f"{role}\0{text}" for role, text in history)
    return hashlib.sha256(turns.encode()).hexdigest()[:16]


class System(Protocol):
    name: str

    def ask(self, qid: str, question: str, exclude: Sequence[Span] = (),
            history: Sequence[tuple[str, str]] = ()) -> Prediction:
        """Answer `question`, with the `exclude` spans of documents hidden from retrieval,
        as a follow-up to the `history` turns if any."""


class AssistantSystem:
    """Our assistant, asked exactly as a developer would ask it."""

    def __init__(self, assistant: Assistant, backend: str, name: str = "assistant") -> None:
        self.assistant = assistant
        self.backend = backend
        self.name = name

    def ask(self, qid: str, question: str, exclude: Sequence[Span] = (),
            history: Sequence[tuple[str, str]] = ()) -> Prediction:
        answer = self.assistant.ask(question, list(history), backend=self.backend,
                                    exclude=exclude)
        return prediction(self.assistant, qid, question, answer, history)


def prediction(assistant: Assistant, qid: str, question: str, answer: Answer,
               history: Sequence[tuple[str, str]] = ()) -> Prediction:
    """The `Prediction` that records `answer` (with the cited documents' texts)."""
    texts = {}
    for citation in answer.citations:
        if citation.source not in texts:
            document = assistant.catalog.document(citation.source)
            texts[citation.source] = document.text if document else ""
    return Prediction(
        id=qid, question=question, answer=answer.text, abstained=answer.abstained,
        citations=[{"marker": c.marker, "source": c.source, "start": c.start, "end": c.end,
                    "quote": c.quote} for c in answer.citations],
        passages=[{"source": p.source, "start": p.start, "end": p.end, "text": p.text}
                  for p in answer.passages],
        timings=dict(answer.timings), draft=answer.draft, checked=answer.checked,
        standalone=answer.standalone_question, guess=answer.guess,
        asked_after=conversation_digest(history),
        confidence=answer.confidence,
        abstain_reason=answer.abstain_reason, features=dict(answer.features),
        signals=dict(answer.signals), document_texts=texts,
    )
