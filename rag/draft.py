"""Reading what a model wrote: its `[n]` markers and whether it says it cannot answer.

A draft is free text from a small model. Its markers come in many shapes ("[1]",
"[2, 3]", "[Passage 4]", "【1】", "[1-2]") and its refusals in many phrasings, straight
or curly apostrophes, on the first line or after an attempt at an answer.
"""

from __future__ import annotations

import re

from rag.prompt import NO_ANSWER

_MARKER = re.compile(r"\s*[\[【](?:passages?\s*)?(\d+(?:\s*(?:,|;|-|–|and)\s*\d+)*)[\]】]",
                     re.IGNORECASE)
_REFUSAL = re.compile(
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
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "ʼ": "'", "`": "'"})


def is_abstention(text: str) -> bool:
    """Whether the model's words say the documents do not (fully) answer, anywhere in
    the text: "I don’t know", "The passages do not mention ...", the reply we ask for."""
    plain = " ".join(text.translate(_APOSTROPHES).split())
    return bool(_REFUSAL.search(plain)) or NO_ANSWER.lower().rstrip(".") in plain.lower()


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
