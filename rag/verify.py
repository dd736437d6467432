"""Does the checked draft actually answer the question? Decides abstention with evidence
the code can check, not the model's say-so.

A 1.5B model rarely says "I don't know": asked about something the documents do not
hold, it answers from its own knowledge, or pins a name from the passages on the
wrong person. Each check below catches one of those failures; the confidence score
then measures how much of what the question asks about appears where the answer
comes from.

1. The model said the documents do not answer.           -> abstain
2. No passage supports any sentence of the answer.        -> abstain
3. A "how many / how much ..." question, no number given.  -> abstain
4. The answer adds nothing to the question, or the only
   name it gives is one the question already names.       -> abstain
5. Half or more of the names in the question (Putin, "US")
   are nowhere in the paragraphs the answer comes from.   -> abstain
6. Otherwise: confidence = half the share of the question's content words found in
   those paragraphs (and the document title), half the embedding similarity of the
   question and the supporting sentence. Below the threshold -> abstain.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from rag.cite import CheckedAnswer, Embed, Support, cosine
from rag.text import STOPWORDS, content_words, numbers, stem, words

Context = Callable[[Support], str]
"""Returns the text around a supporting span (its paragraph, with the document title)."""

_QUANTITY = re.compile(
    r"\b(?:how\s+(?:many|much|long|far|old|tall|high|big|large|wide|deep|heavy|often)"
    r"|what\s+(?:percentage|percent|number|year)|in\s+(?:what|which)\s+year)\b",
    re.IGNORECASE,
)
_NAME = re.compile(r"\b(?:[A-Z][\w'’.-]*[A-Za-z]|[A-Z]{2,})\b")
_QUESTION_WORDS = frozenset(
    "what which who whom whose when where why how is are was were did does do can could "
    "according in on at the a an of and or to for by from as with name named".split()
)
_PREFIX = 6
_FRAME = frozenset({"name", "named", "called", "call", "known", "kind", "type"})
"""Words that frame a question ("what is X called?") rather than say what it is about."""


@dataclass(frozen=True)
class Verdict:
    confidence: float
    """0 to 1: how well the evidence backs the answer as an answer to this question."""
    reason: str
    """Why the answer cannot stand ("" when a check did not fail)."""


def _fold(text: str) -> str:
    """Accents off: "Gospić" and "Gospic" are the same name."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


_ACRONYM = re.compile(r"(?:[A-Z]\.?){2,6}")
_CONNECTORS = frozenset({"of", "the", "and", "for", "de", "&"})
"""Small words inside a spelled-out name that its acronym skips ("Bank of England")."""
_SPELLED_OUT = re.compile(r"[A-Z][\w'’-]*(?:\s+(?:(?:%s)\s+)*[A-Z][\w'’-]*)+"
                          % "|".join(map(re.escape, sorted(_CONNECTORS))))


def _names(text: str, skip_first: bool = False) -> list[list[str]]:
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


class _Evidence:
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


class Verifier:
    """Turns a checked draft into a confidence and, where a check fails, a reason."""

    def __init__(self, embed: Embed | None = None) -> None:
        self.embed = embed

    def verify(self, question: str, checked: CheckedAnswer, context: Context) -> Verdict:
        if checked.abstained:
            return Verdict(0.0, "the model found no answer in the passages")
        supported = [s for s in checked.sentences if s.supported]
        if not supported:
            return Verdict(0.0, "no passage supports the answer")
        answer = " ".join(s.text for s in supported)

        if _QUANTITY.search(question) and not numbers(answer):
            return Verdict(0.0, "the question asks for a number and the answer gives none")

        question_words = set(content_words(question)) - _FRAME
        if not set(content_words(answer)) - question_words - _FRAME:
            return Verdict(0.0, "the answer only repeats the question")
        asked_names = _names(question, skip_first=True)
        given_names = [set(n) for n in _names(answer)]
        asked_words = {word for name in asked_names for word in name}
        if given_names and all(name & asked_words for name in given_names) and \
                re.match(r"\s*(?:who|whom|whose)\b|.*\bname\b", question, re.IGNORECASE):
            return Verdict(0.0, "the only name in the answer is one the question already gives")

        supports = [s.support for s in supported if s.support is not None]
        supports += [s.extra for s in supported if s.extra is not None]
        evidence = " ".join(context(support) for support in supports)
        found = _Evidence(evidence)
        missing = [name for name in asked_names if not found.has_name(name)]
        if asked_names and len(missing) * 2 >= len(asked_names):
            shown = ", ".join(repr(" ".join(w.lstrip("#") for w in name)) for name in missing)
            return Verdict(0.0, f"the passages the answer rests on never mention {shown}")

        coverage = (sum(found.has_word(w) for w in question_words) / len(question_words)
                    if question_words else 1.0)
        similarity = self._similarity(question, supports)
        return Verdict(0.5 * coverage + 0.5 * similarity, "")

    def _similarity(self, question: str, supports: list[Support]) -> float:
        if self.embed is None or not supports:
            return 0.0
        spans = [s.passage.text[s.start - s.passage.start:s.end - s.passage.start]
                 for s in supports]
        vectors = self.embed([question, *spans])
        return max(max(cosine(vectors[0], v), 0.0) for v in vectors[1:])
