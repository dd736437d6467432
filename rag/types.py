"""What an answer is made of: the passages it was built from and the citations into them."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Passage:
    """A retrieved span of one document, numbered as the model saw it ([1], [2], ...)."""

    number: int
    source: str
    title: str
    start: int
    end: int
    text: str
    """Exactly the document's text[start:end]."""
    score: float
    """How well it matched: the fusion score of dense and keyword search for a retrieved
    chunk, the question-match score of its best sentence for a focused passage."""
    similarity: float
    """Best cosine similarity to the question among its chunks (0 when only keywords found it)."""
    date: str | None = None
    page: int | None = None

    @property
    def name(self) -> str:
        return self.source.replace("\\", "/").rsplit("/", 1)[-1]


@dataclass(frozen=True)
class Citation:
    """A marker in the answer and the exact words of a source that support it."""

    marker: int
    """The n of `[n]` in the answer text: citations are numbered 1, 2, ... in the order
    the answer uses them."""
    source: str
    title: str
    start: int
    end: int
    quote: str
    """Exactly the source document's text[start:end]."""
    date: str | None = None
    page: int | None = None
    passage: int = 0
    """The number of the passage (in `Answer.passages`) that holds the quote."""

    @property
    def name(self) -> str:
        return self.source.replace("\\", "/").rsplit("/", 1)[-1]


@dataclass(frozen=True)
class Answer:
    """The assistant's reply to one question, with everything needed to check it."""

    question: str
    text: str
    """The answer with inline markers like [1]."""
    citations: list[Citation]
    abstained: bool
    """True when the assistant says the documents do not answer the question."""
    passages: list[Passage]
    timings: dict[str, float]
    """Seconds per stage: retrieve, generate, judge, check, total (and rewrite for
    follow-ups, guess for a question the documents match poorly)."""
    standalone_question: str = ""
    """The question as searched: a follow-up rewritten to stand alone."""
    unsupported: list[str] = field(default_factory=list)
    """Sentences of the answer that no retrieved passage clearly supports (a given answer
    still cites their best span)."""
    draft: str = ""
    """What the model wrote, before citations were checked and repaired."""
    checked: str = ""
    """The draft as the checks left it: the answer's text when it was given, and what a
    lower `abstain_below` would have given when it was declined (for the eval)."""
    confidence: float = 0.0
    """The chance that the answer is right, 0 to 1 (see `rag.decide`); the assistant
    declines below `Settings.abstain_below`."""
    abstain_reason: str = ""
    """Why the assistant abstained, in words ("" when it answered)."""
    features: dict[str, float | None] = field(default_factory=dict)
    """What the decision weighed (`rag.decide.Features`); empty when a certain check
    declined."""
    signals: dict[str, float | None] = field(default_factory=dict)
    """The chat model's own token probabilities for its answer (`rag.decide.Signals`)."""
    guess: str = ""
    """The sentence the model guessed the answer is in, searched along with the question
    when no sentence matched the question well (`Settings.guess_below`); "" otherwise."""

    def closest(self, count: int = 3) -> list[Passage]:
        """The passages that matched the question best, best first: what a decline shows
        so that the reader can judge for themselves."""
        return sorted(self.passages, key=lambda p: p.score, reverse=True)[:count]

    def to_dict(self) -> dict:
        """Everything, for the eval's records."""
        return asdict(self)

    def summary(self) -> dict:
        """What a caller needs, JSON-ready: the shape of `rag ask --json` and `/ask`.
        `passages` is every passage the model read, best match first."""
        return {
            "answer": self.text,
            "citations": [{"marker": c.marker, "source": c.source, "title": c.title,
                           "start": c.start, "end": c.end, "quote": c.quote, "page": c.page}
                          for c in self.citations],
            "abstained": self.abstained,
            "confidence": round(self.confidence, 3),
            "abstain_reason": self.abstain_reason,
            "unsupported": self.unsupported,
            "passages": [{"source": p.source, "title": p.title, "start": p.start,
                          "end": p.end, "text": p.text, "score": round(p.score, 4),
                          "page": p.page}
                         for p in self.closest(len(self.passages))],
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
        }
