"""Pure scoring functions for the eval: answers, abstention, citations, retrieval, latency.

Answer scoring follows the SQuAD v1.1 evaluation script: lower-case, drop punctuation
and the articles a/an/the, collapse whitespace; exact match and token F1 take the
best over the accepted aliases. Containment ("is some alias inside the answer?") is
the headline accuracy, because a correct answer in a full sentence is still correct.
"""

from __future__ import annotations

import re
import statistics
import string
from collections import Counter
from collections.abc import Iterable, Sequence

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = set(string.punctuation) | {"“", "”", "‘", "’", "…"}
_DASHES = str.maketrans({"–": " ", "—": " "})
_MARKERS = re.compile(r"\s*\[\d+(?:\s*,\s*\d+)*\]")


def normalize_answer(text: str) -> str:
    """SQuAD normalisation: lower case, no punctuation, no articles, single spaces.

    Unlike the original script, en and em dashes separate words ("1187—1241").
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


def contains_answer(text: str, aliases: Sequence[str]) -> bool:
    """Whether some alias, normalised, occurs in the normalised text as whole words."""
    haystack = f" {normalize_answer(strip_markers(text))} "
    return any(f" {normalize_answer(a)} " in haystack for a in aliases if normalize_answer(a))


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
