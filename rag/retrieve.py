"""Question in, ranked passages out: dense search in Chroma plus BM25 keyword search over
the same chunks (the catalog's SQLite FTS5 index), fused by reciprocal rank.

Overlapping chunks of one document that both rank are merged into one passage, so
the model never reads the same sentence twice and the prompt stays short.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from index import Chunk, Index
from rag.types import Passage

RRF_K = 60
"""The usual constant of reciprocal-rank fusion (Cormack et al., 2009)."""
CANDIDATES = 20
"""How deep each of the two searches looks before fusion."""
EXCLUDE_MARGIN = 20
"""Extra depth when spans are excluded: an excluded paragraph holds a handful of chunks."""

Span = tuple[str, int, int]
"""(source, start, end): characters of one document."""


@dataclass
class _Candidate:
    source: str
    start: int
    end: int
    text: str
    title: str
    date: str | None
    page: int | None
    score: float
    similarity: float

    def overlaps(self, chunk: Chunk) -> bool:
        return chunk.source == self.source and chunk.start <= self.end and chunk.end >= self.start

    def merged_length(self, chunk: Chunk) -> int:
        return max(self.end, chunk.end) - min(self.start, chunk.start)

    def absorb(self, chunk: Chunk, similarity: float) -> None:
        """Grow the span to cover `chunk` too (they overlap)."""
        if chunk.start < self.start:
            self.text = chunk.text[: self.start - chunk.start] + self.text
            self.start = chunk.start
            self.page = chunk.page
        if chunk.end > self.end:
            self.text = self.text + chunk.text[len(chunk.text) - (chunk.end - self.end):]
            self.end = chunk.end
        self.similarity = max(self.similarity, similarity)


def _excluded(chunk: Chunk | Passage, spans: Sequence[Span]) -> bool:
    return any(chunk.source == source and chunk.start < end and start < chunk.end
               for source, start, end in spans)


class Retriever:
    """Hybrid search over one index."""

    def __init__(self, index: Index, k: int, candidates: int = CANDIDATES,
                 max_passage_chars: int | None = None) -> None:
        self.index = index
        self.k = k
        self.candidates = max(candidates, k)
        self.max_passage_chars = max_passage_chars or 2 * index.chunk_size

    def retrieve(self, question: str, k: int | None = None, exclude: Sequence[Span] = (),
                 vector: Sequence[float] | None = None) -> list[Passage]:
        """The `k` best passages for `question`, best first, numbered from 1.

        `exclude`: (source, start, end) spans whose overlapping chunks are left out, as
        if that text were not indexed (evidence-removal evals ask this way). `vector`:
        the question's embedding, when the caller has it already.
        """
        k = k or self.k
        depth = self.candidates + (EXCLUDE_MARGIN if exclude else 0)
        if vector is None:
            vector = self.index.embedder.embed_query(question)
        dense = self.index.vector_search(list(vector), depth)
        keyword = self.index.keyword_search(question, depth)
        if exclude:
            dense = [(c, s) for c, s in dense if not _excluded(c, exclude)][:self.candidates]
            keyword = [c for c in keyword if not _excluded(c, exclude)][:self.candidates]

        fused: dict[str, float] = {}
        chunks: dict[str, Chunk] = {}
        similarity: dict[str, float] = {}
        for rank, (chunk, sim) in enumerate(dense):
            fused[chunk.id] = fused.get(chunk.id, 0.0) + 1.0 / (RRF_K + rank + 1)
            chunks[chunk.id] = chunk
            similarity[chunk.id] = sim
        for rank, chunk in enumerate(keyword):
            fused[chunk.id] = fused.get(chunk.id, 0.0) + 1.0 / (RRF_K + rank + 1)
            chunks[chunk.id] = chunk

        selected: list[_Candidate] = []
        for position, chunk_id in enumerate(sorted(fused, key=fused.get, reverse=True)):
            chunk, sim = chunks[chunk_id], similarity.get(chunk_id, 0.0)
            home = next((c for c in selected if c.overlaps(chunk)), None)
            if home is not None:
                # A well-ranked neighbour widens the passage; a poorly ranked one or one
                # that would make it too long adds nothing new enough to be worth reading.
                if position < 2 * k and home.merged_length(chunk) <= self.max_passage_chars:
                    home.absorb(chunk, sim)
                continue
            if len(selected) == k:
                continue
            selected.append(_Candidate(chunk.source, chunk.start, chunk.end, chunk.text,
                                       chunk.title, chunk.date, chunk.page,
                                       fused[chunk_id], sim))
        return [
            Passage(number=n, source=c.source, title=c.title, start=c.start, end=c.end,
                    text=c.text, score=c.score, similarity=c.similarity, date=c.date, page=c.page)
            for n, c in enumerate(selected, start=1)
        ]


def merge(first: Sequence[Passage], second: Sequence[Passage]) -> list[Passage]:
    """The passages of `first`, then those of `second` that overlap none of them,
    numbered from 1 in that order."""
    merged = list(first)
    for passage in second:
        if not _excluded(passage, [(p.source, p.start, p.end) for p in merged]):
            merged.append(passage)
    return [replace(p, number=n) for n, p in enumerate(merged, start=1)]
