"""Answer or decline: the one place that decides, with a probability a user can read.

`Decider.decide()`, the one entry point, turns everything known about a checked draft
into a `Decision`: the
chance that the answer is right, and whether to give it. The chance comes from the
fitted `answer` model (`rag.calibration`), a logistic regression over the named
`Features` below, fitted on labelled answers to questions the reported evals never
ask (`rag calibrate`). The assistant declines when the chance is below
`abstain_below` (0.5: "decline when the answer is more likely wrong than right").

Whether a span clearly supports the answer is one of the features, not a rule: an
answer in other words than the text's can be right with no span that clearly states
it. A few outcomes are certain and need no model; they decline whatever the chance:
- the model itself said the passages do not answer (or wrote nothing);
- no passage has a sentence to compare the answer with;
- the answer states a number that no passage the model read contains;
- a how-many question gets an answer with no number or amount in it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace
from itertools import accumulate

from index.text import content_words, numbers
from rag.calibration import LogisticModel
from rag.cite import CheckedAnswer, Support
from rag.focus import ScoredSentence
from rag.names import Evidence, names
from rag.types import Passage
from rag.vectors import Vectors

Context = Callable[[Support], str]
"""Returns the text around a supporting span (its paragraph, with the document title)."""

_QUANTITY = re.compile(
    r"\b(?:how\s+(?:many|much|long|far|old|tall|high|big|large|wide|deep|heavy|often)"
    r"|what\s+(?:percentage|percent|number|year)|in\s+(?:what|which)\s+year)\b",
    re.IGNORECASE,
)
_HOW_MANY = re.compile(r"\bhow\s+many\b", re.IGNORECASE)
_AMOUNT = re.compile(r"\b(?:no|none|all|both|each|every|several|few|many|most|some|dozens?|"
                     r"hundreds|thousands|millions?|billions?|trillions?|half|scores|"
                     r"numerous|countless|once|twice|thrice)\b", re.IGNORECASE)
"""Words that answer "how many?" without a figure ("several", "thousands", "none",
"twice", "a million and a half")."""


def states_a_count(text: str) -> bool:
    """Whether `text` could answer "how many?": a figure, or a word such as "twice"."""
    return bool(numbers(text) or _AMOUNT.search(text))


_WHO = re.compile(r"\s*(?:who|whom|whose)\b|.*\bname\b", re.IGNORECASE)
_FRAME = frozenset({"name", "named", "called", "call", "known", "kind", "type"})
"""Words that frame a question ("what is X called?") rather than say what it is about."""


@dataclass(frozen=True)
class Signals:
    """What the chat model itself says about its answer (None where a backend gives no
    token probabilities)."""

    logprob_mean: float | None = None
    """Mean log-probability of the answer's tokens."""
    logprob_min: float | None = None
    """Log-probability of its least likely token."""
    p_yes: float | None = None
    """The model's P(yes) when asked whether the passages state this answer."""
    new_logprob_min: float | None = None
    """Log-probability of the least likely token among the words the answer adds to the
    question: where the model chose what to answer, not where it restated the question
    ("The Eiffel Tower was designed by | Gustave Eiffel's company")."""
    new_logprob_mean: float | None = None
    """Mean log-probability of the tokens of those words."""

    @classmethod
    def of(cls, question: str, tokens: list[str], logprobs: list[float],
           p_yes: float | None = None) -> Signals:
        """Signals from the answer's tokens (their texts, in order) and log-probabilities.
        Without token texts (a backend that gives none) only the whole-answer figures
        are known; an answer that adds no word to the question gets 0 (certain)."""
        if not logprobs:
            return cls(p_yes=p_yes)
        whole = cls(logprob_mean=sum(logprobs) / len(logprobs), logprob_min=min(logprobs),
                    p_yes=p_yes)
        if not tokens:
            return whole
        new = _new_word_logprobs(question, tokens, logprobs) or [0.0]
        return replace(whole, new_logprob_min=min(new), new_logprob_mean=sum(new) / len(new))


_WORD = re.compile(r"\w+")
_MARKER_SPAN = re.compile(r"\[[^\]]*\]|【[^】]*】")


def _new_word_logprobs(question: str, tokens: list[str], logprobs: list[float]) -> list[float]:
    """Log-probabilities of the tokens that make up the answer's content words which the
    question does not have (citation markers left out)."""
    asked = set(content_words(question))
    text = "".join(tokens)
    bounds = list(accumulate((len(token) for token in tokens), initial=0))
    markers = [m.span() for m in _MARKER_SPAN.finditer(text)]
    chosen: set[int] = set()
    for match in _WORD.finditer(text):
        start, end = match.span()
        if any(a <= start < b for a, b in markers):
            continue
        found = content_words(match.group(0))
        if found and found[0] not in asked:
            chosen.update(i for i in range(len(tokens))
                          if bounds[i] < end and bounds[i + 1] > start)
    return [logprobs[i] for i in sorted(chosen) if i < len(logprobs)]


@dataclass(frozen=True)
class Features:
    """Named inputs of the answer model; `rag calibrate` reports their weights."""

    support: float
    """Support probability of the best span of the answer's weakest supported sentence."""
    supported_share: float
    """Share of the answer's sentences that some span supports."""
    coverage: float
    """Share of the answer's new words found in its supporting span."""
    question_coverage: float
    """Share of the question's content words found around the evidence (its paragraph
    and document title)."""
    question_similarity: float
    """Embedding similarity of the question and the supporting span."""
    missing_names: float
    """Share of the names the question asks about that the evidence never mentions."""
    repeats_question: bool
    """The answer adds no content word to the question."""
    echoes_name: bool
    """A who/name question answered only with a name the question already gives."""
    quantity_without_number: bool
    """A how-many/what-year question answered with no number."""
    agrees_with_extractive: bool
    """The supporting span holds the sentence that best matches the question."""
    support_rank: float
    """log2(1 + rank) of the supporting sentence among all retrieved sentences."""
    top_sentence_score: float
    """Question-match score of the best retrieved sentence."""
    passage_similarity: float
    """Embedding similarity of the question and the supporting passage's chunk."""
    answer_words: float
    """log(1 + content words in the answer)."""
    logprob_mean: float | None
    logprob_min: float | None
    p_yes: float | None
    new_logprob_min: float | None
    new_logprob_mean: float | None

    def as_dict(self) -> dict[str, float | None]:
        return {k: (float(v) if v is not None else None) for k, v in asdict(self).items()}


FEATURE_NAMES = tuple(f.name for f in fields(Features))

_EXPLAIN = {
    "support": "the cited words do not clearly state the answer",
    "supported_share": "no passage clearly states the answer",
    "coverage": "the cited words hold little of the answer",
    "question_coverage": "what the question asks about is barely mentioned where the answer "
                         "comes from",
    "question_similarity": "the cited words are about something else",
    "missing_names": "names the question asks about are missing where the answer comes from",
    "repeats_question": "the answer only repeats the question",
    "echoes_name": "the only name in the answer is one the question already gives",
    "quantity_without_number": "the question asks for a number and the answer gives none",
    "agrees_with_extractive": "the answer rests on a sentence that matches the question poorly",
    "support_rank": "the answer rests on a sentence that matches the question poorly",
    "top_sentence_score": "nothing retrieved matches the question well",
    "passage_similarity": "the passage is about something else",
    "logprob_mean": "the model was unsure of its wording",
    "logprob_min": "the model was unsure of its wording",
    "p_yes": "the model does not think the passages state this answer",
    "new_logprob_min": "the model was unsure of its answer",
    "new_logprob_mean": "the model was unsure of its answer",
}


@dataclass(frozen=True)
class Decision:
    probability: float
    """The chance that the answer is right (0 when a certain check fails)."""
    abstain: bool
    reason: str
    """Why the assistant declines, in words ("" when it answers)."""
    features: Features | None = None


class Decider:
    """Answer-or-decline from a checked draft; see the module docstring."""

    def __init__(self, model: LogisticModel, abstain_below: float) -> None:
        self.model = model
        self.abstain_below = abstain_below

    def decide(self, question: str, checked: CheckedAnswer, passages: list[Passage],
               ranked: list[ScoredSentence], context: Context, vectors: Vectors,
               signals: Callable[[], Signals]) -> Decision:
        """The chance the answer is right, and whether that is enough to give it.

        `signals` is called only when no certain check declines: asking the model about
        its own answer costs a model call.
        """
        veto = self.veto(question, checked, passages)
        if veto:
            return Decision(0.0, True, veto)
        features = self.features(question, checked, ranked, context, vectors, signals())
        return self.weigh(features)

    @staticmethod
    def veto(question: str, checked: CheckedAnswer, passages: list[Passage]) -> str:
        """The reason a certain check fails, or ""."""
        if checked.abstained:
            return "the model found no answer in the passages"
        if not any(s.support is not None for s in checked.sentences):
            return "no passage has a sentence to compare the answer with"
        stated = set(numbers(question)).union(*(numbers(p.text) for p in passages))
        if any(numbers(s.text) - stated for s in checked.sentences):
            return "the answer gives a number that no passage states"
        answer = " ".join(s.text for s in checked.sentences)
        if _HOW_MANY.search(question) and not states_a_count(answer):
            return "the question asks how many and the answer gives no number"
        return ""

    def features(self, question: str, checked: CheckedAnswer, ranked: list[ScoredSentence],
                 context: Context, vectors: Vectors, signals: Signals) -> Features:
        """What the answer model weighs, for an answer no certain check declined."""
        # Without a sentence that a span clearly supports, the best span of each sentence
        # stands in (the weak support is itself a feature).
        supported = ([s for s in checked.sentences if s.supported]
                     or [s for s in checked.sentences if s.support is not None])
        answer = " ".join(s.text for s in supported)
        supports = [s.support for s in supported]
        supports += [s.extra for s in supported if s.extra is not None]
        main = supported[0].support

        question_words = set(content_words(question)) - _FRAME
        asked = names(question, skip_first=True)
        given = [set(n) for n in names(answer)]
        asked_words = {word for name in asked for word in name}
        evidence = Evidence(" ".join(context(support) for support in supports))
        missing = sum(not evidence.has_name(name) for name in asked)
        coverage = (sum(evidence.has_word(w) for w in question_words) / len(question_words)
                    if question_words else 1.0)
        similarity = vectors.similarity(question, [s.text for s in supports])
        answer_words = set(content_words(answer))

        rank = next((i for i, s in enumerate(ranked)
                     if s.passage.source == main.passage.source
                     and main.start <= s.start and s.end <= main.end), len(ranked))
        return Features(
            support=min(s.support.probability for s in supported),
            supported_share=sum(s.supported for s in checked.sentences) / len(checked.sentences),
            coverage=main.coverage,
            question_coverage=coverage,
            question_similarity=float(similarity.max()) if len(similarity) else 0.0,
            missing_names=missing / len(asked) if asked else 0.0,
            repeats_question=not answer_words - question_words - _FRAME,
            echoes_name=bool(given) and all(n & asked_words for n in given)
            and bool(_WHO.match(question)),
            quantity_without_number=bool(_QUANTITY.search(question)) and not numbers(answer),
            agrees_with_extractive=rank == 0,
            support_rank=math.log2(1 + rank),
            top_sentence_score=max((s.score for s in ranked), default=0.0),
            passage_similarity=main.passage.similarity,
            answer_words=math.log1p(len(answer_words)),
            logprob_mean=signals.logprob_mean,
            logprob_min=signals.logprob_min,
            p_yes=signals.p_yes,
            new_logprob_min=signals.new_logprob_min,
            new_logprob_mean=signals.new_logprob_mean,
        )

    def weigh(self, features: Features) -> Decision:
        """Decline when the fitted chance of being right is below `abstain_below`."""
        values = features.as_dict()
        probability = self.model.probability(values)
        if probability >= self.abstain_below:
            return Decision(probability, False, "", features)
        return Decision(probability, True, f"the chance that the answer is right is "
                        f"{probability:.2f}, below {self.abstain_below:.2f}: "
                        f"{self._explain(values)}", features)

    def _explain(self, values: dict[str, float | None]) -> str:
        """The feature that lowered the chance the most, in words."""
        worst, lowest = "", 0.0
        for name, coef, mean, scale in zip(self.model.features, self.model.coef,
                                           self.model.mean, self.model.scale):
            value = values.get(name)
            if value is None:
                continue
            contribution = coef * (value - mean) / scale
            if contribution < lowest:
                worst, lowest = name, contribution
        return _EXPLAIN.get(worst, "the evidence is weak")

