"""The `extractive` backend: no language model, the answer is the passage sentence that
best matches the question, quoted. Fast, never invents anything, and a baseline any
generated answer has to beat.
"""

from __future__ import annotations

from rag.focus import ScoredSentence
from rag.types import Passage

MIN_SCORE = 0.35
"""Below this match score the reader says the documents do not answer."""


def extractive_answer(ranked: list[ScoredSentence], passages: list[Passage], no_answer: str,
                      min_score: float = MIN_SCORE) -> str:
    """A draft in the shape a chat model writes: the best sentence, quoted, with the
    [n] of the passage (among `passages`) that holds it."""
    if not ranked or ranked[0].score < min_score:
        return no_answer
    best = ranked[0]
    holder = next((p for p in passages if p.source == best.passage.source
                   and p.start <= best.start and best.end <= p.end), None)
    if holder is None:
        return no_answer
    return f"“{best.text.strip()}” [{holder.number}]"
