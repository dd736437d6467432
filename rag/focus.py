"""From retrieved chunks to the few sentences the model reads.

On a 2-core CPU the local model reads about 100 prompt tokens a second, so every
sentence in the prompt costs time. Retrieval casts a wide net (several chunks); this
stage keeps the sentences that best match the question (keyword overlap weighted by
rarity, plus embedding similarity) and hands those to the model as numbered
passages. Measured on 600 questions of the SQuAD-dev-13 calibration pool, the 6
retrieved chunks (1,900 characters) hold the answer for 91.5%; their best 4 sentences
(700 characters) for 83.8%, the best 5 (860) for 85.7%, the best 6 (1,010) for 87.7%.
A learned sentence ranker (logistic regression on these scores, the chunk's rank and
the neighbours' scores) gained under a point, so the ranking stays this simple one.
Also tried and not kept (2026-11-28): scoring each sentence by the better of its own
similarity and that of it read after the sentence before it ("It was designed by ..."
after the sentence that names "it"). On the pool the best 5 held the answer for 14 more
questions and 1 fewer (650 questions and 160 reworded by hand); held out it was 3 more
and 1 fewer of SQuAD-dev-13's 260, but 2 more and 7 fewer of its 104 reworded ones.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

from index.splitter import sentence_spans
from index.text import content_words
from rag.types import Passage
from rag.vectors import Vectors

LEXICAL_WEIGHT = 0.5


@dataclass(frozen=True)
class ScoredSentence:
    passage: Passage
    start: int
    """Offsets in the source document."""
    end: int
    text: str
    score: float


class SentenceRanker:
    """Ranks the sentences of retrieved passages by how well they match a question."""

    def __init__(self, lexical_weight: float = LEXICAL_WEIGHT) -> None:
        self.lexical_weight = lexical_weight

    def rank(self, question: str, passages: list[Passage],
             vectors: Vectors) -> list[ScoredSentence]:
        """Every sentence of `passages`, best match first."""
        spans = [(p, p.start + s, p.start + e) for p in passages for s, e in sentence_spans(p.text)]
        if not spans:
            return []
        texts = [p.text[s - p.start:e - p.start] for p, s, e in spans]
        query = set(content_words(question))
        bags = [set(content_words(text)) for text in texts]
        frequency = Counter(word for bag in bags for word in bag)
        idf = {w: math.log(1 + len(bags) / (1 + frequency[w])) for w in query}
        total = sum(idf.values()) or 1.0
        lexical = [sum(idf[w] for w in query & bag) / total for bag in bags]
        dense = vectors.similarity(question, texts)
        w = self.lexical_weight
        scored = [ScoredSentence(p, s, e, text, w * lex + (1 - w) * float(den))
                  for (p, s, e), text, lex, den in zip(spans, texts, lexical, dense)]
        return sorted(scored, key=lambda x: x.score, reverse=True)


def blend(ranked: list[ScoredSentence], wider: list[ScoredSentence],
          weight: float) -> list[ScoredSentence]:
    """`ranked` (the sentences scored against the question) reordered by
    `(1 - weight) * score + weight * ` the same sentence's score in `wider` (scored
    against the question and the model's guess at the answer's sentence). Each keeps
    its score against the question."""
    other = {(s.passage.source, s.start): s.score for s in wider}
    return sorted(ranked, key=lambda s: -((1 - weight) * s.score
                                           + weight * other.get((s.passage.source, s.start), 0.0)))


def focus(ranked: list[ScoredSentence], n: int, neighbours: int = 0) -> list[Passage]:
    """The best `n` sentences as numbered passages, ready for the prompt, plus the
    sentences just before and after the best `neighbours` of them (the answer often
    sits next to the sentence that matches the question best: "He was born in 1856").

    Neighbouring sentences of one passage are joined. Documents come in the order of
    their best sentence and, within a document, passages in reading order, so the
    prompt names each document once and reads like the source.
    """
    chosen = ranked[:n]
    if neighbours:
        order = sorted(ranked, key=lambda s: (s.passage.source, s.start))
        position = {id(s): i for i, s in enumerate(order)}
        taken = {id(s) for s in chosen}
        for best in ranked[:neighbours]:
            i = position[id(best)]
            for j in (i - 1, i + 1):
                if 0 <= j < len(order) and order[j].passage is best.passage \
                        and id(order[j]) not in taken:
                    chosen.append(order[j])
                    taken.add(id(order[j]))
    groups: list[list[ScoredSentence]] = []
    for sentence in sorted(chosen, key=lambda s: (s.passage.source, s.start)):
        last = groups[-1][-1] if groups else None
        if (last is not None and last.passage is sentence.passage
                and not last.passage.text[last.end - last.passage.start:
                                          sentence.start - sentence.passage.start].strip()):
            groups[-1].append(sentence)
        else:
            groups.append([sentence])
    best_of_source: dict[str, float] = {}
    for group in groups:
        source = group[0].passage.source
        best_of_source[source] = max(best_of_source.get(source, 0.0), *(s.score for s in group))
    groups.sort(key=lambda g: (-best_of_source[g[0].passage.source], g[0].passage.source,
                               g[0].start))
    passages = []
    for number, group in enumerate(groups, start=1):
        source = group[0].passage
        start, end = group[0].start, group[-1].end
        passages.append(Passage(
            number=number, source=source.source, title=source.title, start=start, end=end,
            text=source.text[start - source.start:end - source.start],
            score=max(s.score for s in group), similarity=source.similarity,
            date=source.date, page=source.page,
        ))
    return passages
