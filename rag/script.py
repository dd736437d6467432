"""Which writing system a text is mostly in (Latin, Arabic, Cyrillic, CJK, ...).

A question in one script over passages in another (an Arabic question about English
documents) can seldom be answered with quotes the checker accepts: citations need the
answer's words in the passage. Its draft is therefore capped short
(`CROSS_SCRIPT_TOKENS`) instead of running to `max_tokens` and being thrown away.
"""

from __future__ import annotations

import unicodedata
from collections import Counter

CROSS_SCRIPT_TOKENS = 48
"""Enough for a short answer in any script; a quarter of the default `max_tokens`."""


def dominant_script(text: str, sample: int = 2000) -> str | None:
    """The script of most letters in the first `sample` characters, or None if none."""
    counts: Counter[str] = Counter()
    for ch in text[:sample]:
        if ch.isalpha():
            counts[unicodedata.name(ch, "UNKNOWN").split(" ", 1)[0]] += 1
    return counts.most_common(1)[0][0] if counts else None


def cross_script(question: str, passages: list[str]) -> bool:
    """Whether the question is written in another script than the passages."""
    asked = dominant_script(question)
    read = dominant_script(" ".join(passages))
    return asked is not None and read is not None and asked != read
