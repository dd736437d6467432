"""Names in questions and the passages that answer them, however they are written.

"Does the paragraph an answer comes from mention the people and things the question
asks about?" is one of the strongest signals that an answer is about the right
thing: a small model asked about a person the documents never name pins the name of
somebody else in the passage on them. A name counts as present when most of its
words are there, without accents ("Gospić" / "Gospic"), spelled out for an acronym
("UMC" / United Methodist Church), by surname alone, or as a demonym ("Kenyans" /
"Kenya").
"""

from __future__ import annotations

import re
import unicodedata

from index.text import STOPWORDS, stem, words

_NAME = re.compile(r"\b(?:[A-Z][\w'’.-]*[A-Za-z]|[A-Z]{2,})\b")
_QUESTION_WORDS = frozenset(
    "what which who whom whose when where why how is are was were did does do can could "
    "according in on at the a an of and or to for by from as with name named".split()
)
_PREFIX = 6


def _fold(text: str) -> str:
    """Accents off: "Gospić" and "Gospic" are the same name."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


_ACRONYM = re.compile(r"(?:[A-Z]\.?){2,6}")
_CONNECTORS = frozenset({"of", "the", "and", "for", "de", "&"})
"""Small words inside a spelled-out name that its acronym skips ("Bank of England")."""
_SPELLED_OUT = re.compile(r"[A-Z][\w'’-]*(?:\s+(?:(?:%s)\s+)*[A-Z][\w'’-]*)+"
                          % "|".join(map(re.escape, sorted(_CONNECTORS))))


def names(text: str, skip_first: bool = False) -> list[list[str]]:
    """Runs of capitalised words (multi-word names), as lower-case stems; an acronym
    ("UMC", "U.S.") becomes one part marked with "#". With `skip_first`, the first
    word is left out: a question's first word is capitalised whatever it is
    ("Besides aircraft, ...")."""
    text = _fold(text)
    runs: list[list[str]] = []
    last_end = -2
    for i, match in enumerate(_NAME.finditer(text)):
        if skip_first and i == 0 and not text[:match.start()].strip():
            continue
        token = re.sub(r"['’]s$", "", match.group(0)).rstrip(".")
        lowered = token.lower()
        if lowered in STOPWORDS or lowered in _QUESTION_WORDS:
            last_end = -2
            continue
        if _ACRONYM.fullmatch(token):
            parts = ["#" + lowered.replace(".", "")]
        else:
            parts = [stem(p) for p in re.split(r"[-.]", lowered) if p]
        if runs and text[last_end:match.start()].strip() == "":
            runs[-1].extend(parts)
        else:
            runs.append(parts)
        last_end = match.end()
    return runs


def _initials(text: str) -> set[str]:
    """Acronyms a text spells out or writes: "United Methodist Church" gives "umc" (and
    "um", "mc"), "U.S." gives "us"."""
    found = {m.replace(".", "").lower() for m in re.findall(r"\b(?:[A-Z]\.){2,}", text)}
    for run in _SPELLED_OUT.finditer(text):
        letters = "".join(w[0] for w in run.group(0).split() if w not in _CONNECTORS).lower()
        found.update(letters[i:j] for i in range(len(letters))
                     for j in range(i + 2, len(letters) + 1))
    return found


class Evidence:
    """The words of the paragraphs an answer rests on, for asking "is this name there?"."""

    def __init__(self, text: str) -> None:
        text = _fold(text)
        self.vocabulary = set(words(text))
        self.initials = _initials(text)

    def has_word(self, word: str) -> bool:
        if word.startswith("#"):
            return word[1:] in self.vocabulary or word[1:] in self.initials
        if word in self.vocabulary:
            return True
        if len(word) >= _PREFIX and any(v.startswith(word[:_PREFIX]) for v in self.vocabulary
                                        if len(v) >= _PREFIX):
            return True  # inflections: "Ukrainian" / "Ukrainians"
        # demonyms and the like: "Kenyan" / "Kenya"
        return len(word) >= 5 and any(word.startswith(v) and len(word) - len(v) <= 2
                                      for v in self.vocabulary if len(v) >= 4)

    def has_name(self, name: list[str]) -> bool:
        """A name is there when most of its words are: "Peyton Manning" is often just
        "Manning" after the first mention."""
        return sum(self.has_word(w) for w in name) * 2 >= len(name)
