"""Embedding vectors for one question's texts, each text embedded once.

Ranking sentences, matching answer sentences to evidence and scoring the answer all
compare the same handful of texts (the question, passage sentences, answer sentences).
A `Vectors` lives for one question: it embeds what it has not seen in one batch and
remembers the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

Embed = Callable[[list[str]], list[list[float]]]
"""Texts in, one L2-normalised vector per text out (`Embedder.embed_texts`)."""


class Vectors:
    """Vectors of texts, embedded on first use (none at all without an `embed`)."""

    def __init__(self, embed: Embed | None) -> None:
        self.embed = embed
        self._known: dict[str, np.ndarray] = {}

    def __bool__(self) -> bool:
        return self.embed is not None

    def of(self, texts: Sequence[str]) -> np.ndarray:
        """One row per text (zeros without an embedder)."""
        if self.embed is None:
            return np.zeros((len(texts), 1))
        missing = [t for t in dict.fromkeys(texts) if t not in self._known]
        if missing:
            for text, vector in zip(missing, self.embed(missing)):
                self._known[text] = np.asarray(vector, dtype=np.float32)
        if not texts:
            return np.zeros((0, 1))
        return np.stack([self._known[t] for t in texts])

    def similarity(self, text: str, others: Sequence[str]) -> np.ndarray:
        """Cosine similarity of `text` to each of `others`, floored at 0."""
        if self.embed is None or not others:
            return np.zeros(len(others))
        vectors = self.of([text, *others])
        return np.clip(vectors[1:] @ vectors[0], 0.0, None)
