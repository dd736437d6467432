"""Answer text + retrieved passages -> verified citations that point at exact words.

A small model's own `[n]` markers are a hint, not evidence. For every sentence of the
draft answer we look for the passage sentence (or pair of adjacent sentences) that
supports it: the words the answer adds to the question must be there, every number
it states must be there, and the span must be about what the question asks. The
marker is then set to the passage that holds that span, and the citation's offsets
are the span's own, not the whole passage's. A sentence nothing supports keeps no
marker and is reported as unsupported.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

from index.splitter import sentence_spans
from rag.prompt import NO_ANSWER
from rag.text import content_words, numbers
from rag.types import Citation, Passage

Embed = Callable[[list[str]], list[list[float]]]

_MARKER = re.compile(r"\s*[\[【](?:passages?\s*)?(\d+(?:\s*(?:,|;|-|–|and)\s*\d+)*)[\]】]",
                     re.IGNORECASE)
_ABSTAIN = re.compile(
    r"\b(?:(?:documents?|passages?|context|text|sources?|provided information)\s+"
    r"(?:do|does|did)\s*(?:not|n't)\s+(?:say|mention|state|specify|contain|provide|include|"
    r"give|indicate|answer|discuss|describe|tell)"
    r"|(?:is|are|was|were)\s+not\s+(?:mentioned|stated|specified|provided|given|"
    r"included|found)\s+in\s+the\s+(?:documents?|passages?|context|text)"
    r"|no\s+(?:information|mention)\s+(?:about|of|on|in|regarding)"
    r"|(?:cannot|can't|can\s+not|unable\s+to)\s+(?:be\s+)?(?:determine|answer|find|tell)"
    r"|\bI\s+(?:do\s+not|don't)\s+know)",
    re.IGNORECASE,
)

SUPPORTED = 0.5
"""Least support score for a span to count as evidence for a sentence."""


@dataclass(frozen=True)
class Support:
    """How well one span of a passage supports one answer sentence."""

    passage: Passage
    start: int
    end: int
    coverage: float
    """Share of the answer's new content words (those not in the question) in the span."""
    topic: float
    """Share of the question's content words found in the span's passage."""
    similarity: float
    """Cosine similarity of (question + sentence) and the span; 0 without an embedder."""
    numbers_match: bool

    @property
    def score(self) -> float:
        if not self.numbers_match:
            return 0.0
        return 0.6 * self.coverage + 0.2 * self.topic + 0.2 * self.similarity


@dataclass(frozen=True)
class CheckedSentence:
    text: str
    start: int
    """Offset of the sentence in the cleaned answer text (markers removed)."""
    end: int
    claimed: tuple[int, ...]
    """Passage numbers the model put after this sentence."""
    support: Support | None
    extra: Support | None = None
    """A second span, when one sentence draws on two places."""

    @property
    def supported(self) -> bool:
        return self.support is not None and self.support.score >= SUPPORTED


@dataclass(frozen=True)
class CheckedAnswer:
    text: str
    citations: list[Citation]
    sentences: list[CheckedSentence]
    abstained: bool

    @property
    def unsupported(self) -> list[str]:
        return [s.text for s in self.sentences if not s.supported]


def is_abstention(text: str) -> bool:
    """Whether the model's own words say the documents do not answer."""
    first = text.strip().split("\n", 1)[0]
    return bool(_ABSTAIN.search(first)) or NO_ANSWER.lower().rstrip(".") in text.lower()


def strip_markers(text: str) -> tuple[str, list[tuple[int, tuple[int, ...]]]]:
    """Remove `[n]` markers; returns the clean text and (position, numbers) of each."""
    clean, found, cursor = [], [], 0
    length = 0
    for match in _MARKER.finditer(text):
        piece = text[cursor:match.start()]
        clean.append(piece)
        length += len(piece)
        found.append((length, _marker_numbers(match.group(1))))
        cursor = match.end()
    clean.append(text[cursor:])
    return "".join(clean), found


def _marker_numbers(group: str) -> tuple[int, ...]:
    numbers_found: list[int] = []
    for part in re.split(r"\s*(?:,|;|and)\s*", group):
        if re.fullmatch(r"\d+\s*[-–]\s*\d+", part):
            low, high = (int(x) for x in re.split(r"\s*[-–]\s*", part))
            numbers_found.extend(range(low, min(high, low + 10) + 1))
        elif part.strip().isdigit():
            numbers_found.append(int(part))
    return tuple(numbers_found)


def cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


class CitationChecker:
    """Finds, for each answer sentence, the passage words that support it."""

    def __init__(self, embed: Embed | None = None) -> None:
        self.embed = embed

    def spans(self, passages: list[Passage]) -> list[tuple[Passage, int, int]]:
        """Candidate evidence: every passage sentence and every adjacent pair."""
        spans = []
        for passage in passages:
            local = sentence_spans(passage.text)
            for i, (start, end) in enumerate(local):
                spans.append((passage, passage.start + start, passage.start + end))
                if i + 1 < len(local):
                    spans.append((passage, passage.start + start, passage.start + local[i + 1][1]))
        return spans

    def check(self, question: str, draft: str, passages: list[Passage]) -> CheckedAnswer:
        if is_abstention(draft) or not passages:
            return CheckedAnswer(NO_ANSWER, [], [], abstained=True)
        clean, markers = strip_markers(draft)
        sentence_offsets = sentence_spans(clean) or [(0, len(clean))]
        claimed: list[list[int]] = [[] for _ in sentence_offsets]
        for position, numbers_found in markers:
            owner = 0
            for i, (start, _) in enumerate(sentence_offsets):
                if start < position:
                    owner = i
            claimed[owner].extend(numbers_found)

        spans = self.spans(passages)
        question_words = set(content_words(question))
        span_texts = [p.text[s - p.start:e - p.start] for p, s, e in spans]
        sentences_text = [clean[s:e] for s, e in sentence_offsets]
        vectors = self._vectors([f"{question} {t}" for t in sentences_text], span_texts)

        checked = []
        for i, ((start, end), sentence) in enumerate(zip(sentence_offsets, sentences_text)):
            scored = [
                self._support(question, question_words, sentence, passage, s, e, span_texts[j],
                              vectors[0][i] if vectors else None, vectors[1][j] if vectors else None)
                for j, (passage, s, e) in enumerate(spans)
            ]
            best = self._best(scored, claimed[i])
            extra = self._complement(best, scored, sentence, question_words) if best else None
            checked.append(CheckedSentence(sentence, start, end, tuple(claimed[i]), best, extra))

        citations = self._citations(checked)
        return CheckedAnswer(self._rewrite(clean, checked, citations), citations, checked,
                             abstained=False)

    def _vectors(self, sentences: list[str], spans: list[str]):
        if self.embed is None or not sentences or not spans:
            return None
        vectors = self.embed(sentences + spans)
        return vectors[:len(sentences)], vectors[len(sentences):]

    @staticmethod
    def _support(question: str, question_words: set[str], sentence: str, passage: Passage,
                 start: int, end: int, span_text: str, sentence_vector, span_vector) -> Support:
        answer_words = set(content_words(sentence))
        new_words = answer_words - question_words or answer_words
        span_words = set(content_words(span_text))
        passage_words = set(content_words(passage.text))
        coverage = len(new_words & span_words) / len(new_words) if new_words else 0.0
        topic = (len(question_words & passage_words) / len(question_words)
                 if question_words else 0.0)
        similarity = (cosine(sentence_vector, span_vector)
                      if sentence_vector is not None else 0.0)
        # Numbers the answer repeats from the question need no support in the span.
        numbers_match = numbers(sentence) - numbers(question) <= numbers(span_text)
        return Support(passage, start, end, coverage, topic, max(similarity, 0.0), numbers_match)

    @staticmethod
    def _best(scored: list[Support], claimed: list[int]) -> Support | None:
        """The best-scoring span, preferring the model's own choice of passage and the
        shorter span when they support the sentence as well (within 0.05)."""
        if not scored:
            return None
        top = max(s.score for s in scored)
        near = [s for s in scored if s.score >= top - 0.05]
        near.sort(key=lambda s: (s.passage.number not in claimed, -round(s.score, 2),
                                 s.end - s.start))
        return near[0]

    @staticmethod
    def _complement(best: Support, scored: list[Support], sentence: str,
                    question_words: set[str]) -> Support | None:
        """A second span that covers what the best one leaves out (two-passage answers)."""
        if best.coverage >= 1.0 or best.score < SUPPORTED:
            return None
        answer_words = set(content_words(sentence))
        new_words = answer_words - question_words or answer_words
        span_words = set(content_words(best.passage.text[best.start - best.passage.start:
                                                         best.end - best.passage.start]))
        missing = new_words - span_words
        options = []
        for s in scored:
            if s.passage is best.passage and s.start < best.end and best.start < s.end:
                continue
            text = s.passage.text[s.start - s.passage.start:s.end - s.passage.start]
            gained = missing & set(content_words(text))
            if len(gained) * 2 >= len(missing) and gained:
                options.append((len(gained), -(s.end - s.start), s))
        return max(options, key=lambda o: o[:2])[2] if options else None

    @staticmethod
    def _citations(checked: list[CheckedSentence]) -> list[Citation]:
        """One citation per distinct supporting span, numbered [1], [2], ... in the order
        the answer first uses them."""
        citations: dict[tuple[str, int, int], Citation] = {}
        for sentence in checked:
            if not sentence.supported:
                continue
            for support in (sentence.support, sentence.extra):
                if support is None:
                    continue
                key = (support.passage.source, support.start, support.end)
                if key in citations:
                    continue
                p = support.passage
                citations[key] = Citation(
                    marker=len(citations) + 1, source=p.source, title=p.title,
                    start=support.start, end=support.end,
                    quote=p.text[support.start - p.start:support.end - p.start],
                    date=p.date, page=p.page, passage=p.number,
                )
        return list(citations.values())

    @staticmethod
    def _rewrite(clean: str, checked: list[CheckedSentence], citations: list[Citation]) -> str:
        """The answer with each supported sentence's marker(s) placed before its final
        punctuation, and no marker on unsupported sentences."""
        marker = {(c.source, c.start, c.end): c.marker for c in citations}
        out = clean
        for sentence in reversed(checked):
            if not sentence.supported:
                continue
            used: list[int] = []
            for support in (sentence.support, sentence.extra):
                if support is not None:
                    n = marker[(support.passage.source, support.start, support.end)]
                    if n not in used:
                        used.append(n)
            end = sentence.end
            while end > sentence.start and clean[end - 1] in ".!?;:":
                end -= 1
            out = out[:end] + " " + "".join(f"[{n}]" for n in used) + out[end:]
        return out.strip()
