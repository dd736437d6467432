"""Pure scoring functions for the eval: answers, abstention, citations, retrieval, latency.

Answer scoring follows the SQuAD v1.1 evaluation script: lower-case, drop punctuation
and the articles a/an/the, collapse whitespace; exact match and token F1 take the
best over the accepted aliases. Containment ("is some alias inside the answer?") is
the headline accuracy, because a correct answer in a full sentence is still correct.
"""

from __future__ import annotations

import math
import re
import statistics
import string
from collections import Counter
from collections.abc import Iterable, Sequence

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = set(string.punctuation) | {"“", "”", "‘", "’", "…"}
_DASHES = str.maketrans({dash: " " for dash in "-‐‑‒–—−"})
_MARKERS = re.compile(r"\s*\[\d+(?:\s*,\s*\d+)*\]")


def normalize_answer(text: str) -> str:
    """SQuAD normalisation: lower case, no punctuation, no articles, single spaces.

    Unlike the original script, hyphens and dashes separate words ("1187—1241"), so
    that "2-3 years" and "2–3 years" read the same (the script makes them "23" and
    "2–3").
    """
    text = text.lower().translate(_DASHES)
    text = "".join(ch for ch in text if ch not in _PUNCTUATION)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def strip_markers(text: str) -> str:
    """The answer text without its [n] citation markers."""
    return _MARKERS.sub("", text)


def exact_match(prediction: str, aliases: Sequence[str]) -> float:
    pred = normalize_answer(strip_markers(prediction))
    return float(any(pred == normalize_answer(a) for a in aliases))


def token_f1(prediction: str, aliases: Sequence[str]) -> float:
    """Best token-level F1 of the prediction against any alias."""
    pred_tokens = normalize_answer(strip_markers(prediction)).split()
    best = 0.0
    for alias in aliases:
        gold = normalize_answer(alias).split()
        common = Counter(pred_tokens) & Counter(gold)
        overlap = sum(common.values())
        if not overlap:
            continue
        precision, recall = overlap / len(pred_tokens), overlap / len(gold)
        best = max(best, 2 * precision * recall / (precision + recall))
    return best


_POSSESSIVE = re.compile(r"(?<=\w)['’]s\b")
_NUMBER_WORDS = {w: str(i) for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty".split())}


def _loose(text: str) -> str:
    """Normalised for containment: also without possessive 's ("Chihuly's" holds
    "Chihuly") and with number words as digits ("seven" is "7")."""
    words = normalize_answer(_POSSESSIVE.sub("", text)).split()
    return " ".join(_NUMBER_WORDS.get(w, w) for w in words)


def contains_answer(text: str, aliases: Sequence[str]) -> bool:
    """Whether some alias, normalised, occurs in the normalised text as whole words."""
    haystack = f" {_loose(strip_markers(text))} "
    return any(f" {_loose(a)} " in haystack for a in aliases if _loose(a))


def evidence_spans(document: str, evidence: str | Sequence[str]) -> list[tuple[int, int]]:
    """Character spans of each evidence string in the document (first occurrence).

    Raises:
        ValueError: an evidence string is not verbatim text of the document.
    """
    pieces = [evidence] if isinstance(evidence, str) else list(evidence)
    spans = []
    for piece in pieces:
        if not piece:
            continue
        at = document.find(piece)
        if at < 0:
            raise ValueError(f"evidence not found verbatim in its document: {piece[:60]!r}")
        spans.append((at, at + len(piece)))
    return spans


def overlap(a: tuple[int, int], b: tuple[int, int]) -> int:
    return max(0, min(a[1], b[1]) - max(a[0], b[0]))


def covers(span: tuple[int, int], span_text: str, evidence: tuple[int, int],
           aliases: Sequence[str]) -> bool:
    """Whether a retrieved or cited span stands for a piece of gold evidence: it overlaps
    half of it, or overlaps it and holds an answer alias (long gold paragraphs)."""
    shared = overlap(span, evidence)
    if shared == 0:
        return False
    return shared * 2 >= evidence[1] - evidence[0] or contains_answer(span_text, aliases)


def citation_supports(citation_span: tuple[int, int], quote: str,
                      evidence: Sequence[tuple[int, int]], aliases: Sequence[str]) -> bool:
    """A citation is right when its span overlaps the gold evidence or quotes an answer."""
    return any(overlap(citation_span, e) > 0 for e in evidence) or contains_answer(quote, aliases)


def retrieval_ranks(passages: Sequence[tuple[tuple[int, int], str, bool]],
                    evidence: Sequence[tuple[int, int]], aliases: Sequence[str]) -> tuple[float, float]:
    """(recall, reciprocal rank) of the gold evidence among ranked passages.

    Args:
        passages: (span, text, same_document) per retrieved passage, best first.
    """
    if not evidence:
        return 0.0, 0.0
    covered = set()
    first_rank = None
    for rank, (span, text, same_doc) in enumerate(passages, start=1):
        if not same_doc:
            continue
        for i, piece in enumerate(evidence):
            if covers(span, text, piece, aliases):
                covered.add(i)
                if first_rank is None:
                    first_rank = rank
    return len(covered) / len(evidence), (1.0 / first_rank if first_rank else 0.0)


def percentile(values: Iterable[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation; 0.0 for no values."""
    data = sorted(values)
    if not data:
        return 0.0
    position = (len(data) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(data) - 1)
    return data[low] + (data[high] - data[low]) * (position - low)


def median(values: Iterable[float]) -> float:
    data = list(values)
    return statistics.median(data) if data else 0.0


def mean(values: Iterable[float]) -> float:
    data = list(values)
    return sum(data) / len(data) if data else 0.0


def wilson(successes: float, trials: int, z: float = 1.96) -> tuple[float, float] | None:
    """The Wilson score interval of a rate (95% by default); None for no trials. Also
    used for the mean of scores between 0 and 1 that are not yes/no (F1, the share of a
    question's evidence found), `successes` being their sum: such a score varies no more
    than a yes/no one of the same mean, so the interval is, if anything, too wide."""
    if trials <= 0:
        return None
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def risk_coverage(probabilities: Sequence[float], correct: Sequence[bool]) -> dict:
    """Selective answering (Kamath, Jia & Liang, 2020): answer the questions whose
    probability is highest first; at each coverage (share answered) the risk is the
    share of wrong answers among those given. Returns the curve and its area (AURC,
    lower is better; ties in probability are answered together)."""
    pairs = sorted(zip(probabilities, correct), key=lambda pc: -pc[0])
    n = len(pairs)
    coverage, risk = [], []
    wrong = 0
    for i, (p, right) in enumerate(pairs, start=1):
        wrong += not right
        if i < n and pairs[i][0] == p:
            continue
        coverage.append(i / n)
        risk.append(wrong / i)
    area = 0.0
    previous = 0.0
    for c, r in zip(coverage, risk):
        area += (c - previous) * r
        previous = c
    return {"coverage": coverage, "risk": risk, "aurc": area}


def reliability(probabilities: Sequence[float], correct: Sequence[bool],
                bins: int = 10) -> list[dict]:
    """Per probability bin: how many answers, their mean predicted chance of being right
    and the share that were right (a calibrated model has the two equal)."""
    rows = []
    for b in range(bins):
        low, high = b / bins, (b + 1) / bins
        inside = [(p, c) for p, c in zip(probabilities, correct)
                  if low <= p < high or (b == bins - 1 and p == high)]
        if inside:
            rows.append({"low": low, "high": high, "n": len(inside),
                         "predicted": sum(p for p, _ in inside) / len(inside),
                         "observed": sum(c for _, c in inside) / len(inside)})
    return rows
