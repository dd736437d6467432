"""Answer text + the passages the model read -> citations that point at exact words.

A small model's own `[n]` markers are a hint, not evidence. For every sentence of the
draft we score each candidate span (a passage sentence, or two adjacent ones) with
the fitted `support` model (`rag.calibration`): the chance that the span states what
the sentence says, from how many of the words the sentence adds to the question the
span holds, how close the two are in meaning, whether the model's own marker points
there, and whether it is one sentence or two. How many of the question's own words
the span repeats is deliberately not among them: it tells more about how a benchmark's
questions were written than about whether a span supports an answer, and it fails
reworded questions. One rule is not learned because it is certain: a span that does not
state a number the sentence gives cannot support it. The sentence's marker is set to
the passage of its best span when that chance is at least `SUPPORTED`; the citation's
offsets are the span's own, not the whole passage's. Sentences nothing supports keep
no marker and are reported as unsupported.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from index.splitter import sentence_spans
from index.text import content_words, numbers
from rag.calibration import LogisticModel
from rag.draft import is_abstention, strip_markers
from rag.prompt import NO_ANSWER
from rag.types import Citation, Passage
from rag.vectors import Vectors

SUPPORTED = 0.5
"""Least probability of support for a span to be cited as evidence for a sentence."""
NEAR = 0.05
"""Spans within this probability of the best are as good; the model's own choice of
passage, then the shorter span, wins among them."""


@dataclass(frozen=True)
class Support:
    """How well one span of a passage supports one answer sentence."""

    passage: Passage
    start: int
    end: int
    coverage: float
    """Share of the sentence's new content words (those not in the question) in the span."""
    similarity: float
    """Cosine similarity of (question + sentence) and the span."""
    numbers_match: bool
    """Every number the sentence states (beyond the question's) is in the span."""
    claimed: bool
    """The model's own marker on the sentence names this span's passage."""
    pair: bool
    """The span is two adjacent sentences rather than one."""
    probability: float = 0.0

    @property
    def text(self) -> str:
        return self.passage.text[self.start - self.passage.start:self.end - self.passage.start]

    def features(self) -> dict[str, float]:
        return {"coverage": self.coverage, "similarity": self.similarity,
                "claimed": float(self.claimed), "pair": float(self.pair)}


@dataclass(frozen=True)
class CheckedSentence:
    text: str
    start: int
    """Offset of the sentence in the cleaned answer text (markers removed)."""
    end: int
    claimed: tuple[int, ...]
    """Passage numbers the model's own markers named."""
    support: Support | None
    """The best-supporting span (None when there are no passages)."""
    extra: Support | None = None
    """A second span in another passage, for a sentence that joins two facts."""
    candidates: tuple[Support, ...] = ()
    """Every span scored for this sentence (for refitting the support model)."""

    @property
    def supported(self) -> bool:
        return self.support is not None and self.support.probability >= SUPPORTED


@dataclass(frozen=True)
class CheckedAnswer:
    text: str
    citations: list[Citation]
    sentences: list[CheckedSentence]
    abstained: bool
    """The model itself said the passages do not answer."""

    @property
    def unsupported(self) -> list[str]:
        return [s.text for s in self.sentences if not s.supported]

    @property
    def clearly_supported(self) -> bool:
        """Some sentence has a span that supports it (at least `SUPPORTED`)."""
        return any(s.supported for s in self.sentences)


class CitationChecker:
    """Finds, for each answer sentence, the passage words that support it."""

    def __init__(self, model: LogisticModel) -> None:
        self.model = model

    @staticmethod
    def spans(passages: list[Passage]) -> list[tuple[Passage, int, int, bool]]:
        """Candidate evidence: every passage sentence and every adjacent pair."""
        spans = []
        for passage in passages:
            local = sentence_spans(passage.text)
            for i, (start, end) in enumerate(local):
                spans.append((passage, passage.start + start, passage.start + end, False))
                if i + 1 < len(local):
                    spans.append((passage, passage.start + start,
                                  passage.start + local[i + 1][1], True))
        return spans

    def check(self, question: str, draft: str, passages: list[Passage],
              vectors: Vectors) -> CheckedAnswer:
        if is_abstention(draft) or not passages or not draft.strip():
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
        span_texts = [p.text[s - p.start:e - p.start] for p, s, e, _ in spans]
        checked = []
        for i, (start, end) in enumerate(sentence_offsets):
            sentence = clean[start:end]
            similarity = vectors.similarity(f"{question} {sentence}", span_texts)
            scored = tuple(
                self._support(question_words, sentence, passage, s, e, pair, span_texts[j],
                              float(similarity[j]), passage.number in claimed[i],
                              numbers(question))
                for j, (passage, s, e, pair) in enumerate(spans))
            best = self._best(scored)
            extra = self._complement(best, scored, sentence, question_words) if best else None
            checked.append(CheckedSentence(sentence, start, end, tuple(claimed[i]), best, extra,
                                           scored))

        citations = self._citations(checked, _supported)
        return CheckedAnswer(self._rewrite(clean, checked, citations, _supported), citations,
                             checked, abstained=False)

    def cite_best(self, checked: CheckedAnswer) -> CheckedAnswer:
        """The answer citing each sentence's best span, however weak: for an answer that
        no span clearly supports but that the decision gives anyway (its sentences stay
        listed as unsupported)."""
        if checked.abstained or checked.clearly_supported:
            return checked
        clean = strip_markers(checked.text)[0]
        citations = self._citations(checked.sentences, _has_span)
        return CheckedAnswer(self._rewrite(clean, checked.sentences, citations, _has_span),
                             citations, checked.sentences, abstained=False)

    def _support(self, question_words: set[str], sentence: str, passage: Passage, start: int,
                 end: int, pair: bool, span_text: str, similarity: float, claimed: bool,
                 question_numbers: set[str]) -> Support:
        answer_words = set(content_words(sentence))
        new_words = answer_words - question_words or answer_words
        span_words = set(content_words(span_text))
        coverage = len(new_words & span_words) / len(new_words) if new_words else 0.0
        # Numbers the answer repeats from the question need no support in the span.
        numbers_match = numbers(sentence) - question_numbers <= numbers(span_text)
        support = Support(passage, start, end, coverage, similarity, numbers_match, claimed,
                          pair)
        probability = self.model.probability(support.features()) if numbers_match else 0.0
        return Support(passage, start, end, coverage, similarity, numbers_match, claimed, pair,
                       probability)

    @staticmethod
    def _best(scored: tuple[Support, ...]) -> Support | None:
        """The most probable span; among those within `NEAR` of it, the model's own
        choice of passage, then the shorter span."""
        if not scored:
            return None
        top = max(s.probability for s in scored)
        near = [s for s in scored if s.probability >= top - NEAR]
        near.sort(key=lambda s: (not s.claimed, -round(s.probability, 2), s.end - s.start))
        return near[0]

    @staticmethod
    def _complement(best: Support, scored: tuple[Support, ...], sentence: str,
                    question_words: set[str]) -> Support | None:
        """A second span that covers what the best one leaves out (two-passage answers)."""
        if best.coverage >= 1.0 or best.probability < SUPPORTED:
            return None
        answer_words = set(content_words(sentence))
        new_words = answer_words - question_words or answer_words
        missing = new_words - set(content_words(best.text))
        options = []
        for s in scored:
            if s.passage is best.passage and s.start < best.end and best.start < s.end:
                continue
            gained = missing & set(content_words(s.text))
            if gained and len(gained) * 2 >= len(missing):
                options.append((len(gained), -(s.end - s.start), s))
        return max(options, key=lambda o: o[:2])[2] if options else None

    @staticmethod
    def _citations(checked: list[CheckedSentence],
                   cited: Callable[[CheckedSentence], bool]) -> list[Citation]:
        """One citation per distinct span of the `cited` sentences, numbered [1], [2], ...
        in the order the answer first uses them."""
        citations: dict[tuple[str, int, int], Citation] = {}
        for sentence in checked:
            if not cited(sentence):
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
                    start=support.start, end=support.end, quote=support.text,
                    date=p.date, page=p.page, passage=p.number,
                )
        return list(citations.values())

    @staticmethod
    def _rewrite(clean: str, checked: list[CheckedSentence], citations: list[Citation],
                 cited: Callable[[CheckedSentence], bool]) -> str:
        """The answer with each `cited` sentence's marker(s) placed before its final
        punctuation, and no marker on the others."""
        marker = {(c.source, c.start, c.end): c.marker for c in citations}
        out = clean
        for sentence in reversed(checked):
            if not cited(sentence):
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


def _supported(sentence: CheckedSentence) -> bool:
    return sentence.supported


def _has_span(sentence: CheckedSentence) -> bool:
    """A best span that could support the sentence at all (it states its numbers)."""
    return sentence.support is not None and sentence.support.numbers_match
