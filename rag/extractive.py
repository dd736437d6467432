"""The `extractive` backend: no language model, the answer is the passage sentence that
best matches the question, quoted. Fast, never invents anything, and a baseline any
generated answer has to beat.
"""

from __future__ import annotations

import math
from collections import Counter

from index.splitter import sentence_spans
from rag.cite import Embed, cosine
from rag.text import content_words
from rag.types import Passage

MIN_SCORE = 0.35
"""Below this match score the reader says the documents do not answer."""


class ExtractiveReader:
    """Picks and quotes the best-matching sentence among the retrieved passages."""

    def __init__(self, embed: Embed | None = None, min_score: float = MIN_SCORE) -> None:
        self.embed = embed
        self.min_score = min_score

    def best_sentence(self, question: str, passages: list[Passage]) -> tuple[Passage, str, float] | None:
        """The best sentence with its passage and match score, or None without passages."""
        candidates = [(p, p.text[s:e]) for p in passages for s, e in sentence_spans(p.text)]
        if not candidates:
            return None
        query = set(content_words(question))
        documents = [set(content_words(text)) for _, text in candidates]
        frequency = Counter(word for words in documents for word in words)
        idf = {w: math.log(1 + len(documents) / (1 + frequency[w])) for w in query}
        total = sum(idf.values()) or 1.0
        lexical = [sum(idf[w] for w in query & words) / total for words in documents]
        if self.embed is not None:
            vectors = self.embed([question] + [text for _, text in candidates])
            dense = [max(cosine(vectors[0], v), 0.0) for v in vectors[1:]]
        else:
            dense = [0.0] * len(candidates)
        scores = [0.5 * lex + 0.5 * den for lex, den in zip(lexical, dense)]
        best = max(range(len(candidates)), key=scores.__getitem__)
        passage, text = candidates[best]
        return passage, text, scores[best]

    def answer(self, question: str, passages: list[Passage], no_answer: str) -> str:
        """A draft in the same shape a chat model writes: text with a [n] marker."""
        found = self.best_sentence(question, passages)
        if found is None or found[2] < self.min_score:
            return no_answer
        passage, text, _ = found
        return f"“{text.strip()}” [{passage.number}]"
