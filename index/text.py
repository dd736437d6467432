"""Word-level text helpers shared by keyword search and citation checks.

One tokeniser for both, so that "what retrieval matched" and "what the citation
check accepts" agree: lower-case words with a light plural stem, numbers with their
thousands separators removed ("1,000km" -> "1000", "km"), stopwords dropped.
"""

from __future__ import annotations

import re

STOPWORDS = frozenset("""
a about above after again against all also am an and any are as at be because been before
being below between both but by can could did do does doing down during each few for from
further had has have having he her here hers herself him himself his how i if in into is it
its itself just me more most my myself no nor not now of off on once only or other our ours
ourselves out over own same she should so some such than that the their theirs them
themselves then there these they this those through to too under until up very was we were
what when where which while who whom why will with would you your yours yourself yourselves
said says say according did does done get got one ones whose much many
approximately about around roughly nearly almost some over under least little
""".split())

# Units written out and abbreviated are the same word ("1,000km" and "1,000 kilometers").
_UNITS = {"km": "kilometer", "kilometre": "kilometer", "kms": "kilometer", "mi": "mile",
          "m": "meter", "metre": "meter", "kg": "kilogram", "lb": "pound", "lbs": "pound",
          "ft": "foot", "feet": "foot", "hr": "hour", "hrs": "hour", "yr": "year",
          "yrs": "year", "pct": "percent", "sq": "square"}

_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_SPACED_THOUSANDS = re.compile(r"\b(\d{1,3}), (\d{3})(?!\d)")
"""A small model sometimes writes "20, 000"; "In 2015, 500 people" must stay two numbers."""


def _join_thousands(text: str) -> str:
    return _THOUSANDS.sub("", _SPACED_THOUSANDS.sub(r"\1\2", text))
_TOKEN = re.compile(r"\d+(?:\.\d+)?|[^\W\d_]+")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_NUMBER_WORDS = {
    "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
    "seven": "7", "eight": "8", "nine": "9", "ten": "10", "eleven": "11", "twelve": "12",
    "twenty": "20", "thirty": "30", "forty": "40", "fifty": "50", "hundred": "100",
    "thousand": "1000",
}


# "six" and "6" are the same word to every check ("one" stays a word: it is usually a pronoun).
_WORD_DIGITS = {word: digit for word, digit in _NUMBER_WORDS.items() if word != "one"}


def stem(word: str) -> str:
    """A deliberately light stem: plural and possessive endings only."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def words(text: str) -> list[str]:
    """All word and number tokens, lower-cased and stemmed, stopwords kept."""
    text = _join_thousands(text.lower().replace("’", "'"))
    text = re.sub(r"'s\b", "", text)
    tokens = (stem(token) for token in _TOKEN.findall(text))
    return [_UNITS.get(token) or _WORD_DIGITS.get(token, token) for token in tokens]


def content_words(text: str) -> list[str]:
    """Tokens that carry meaning: `words()` without stopwords."""
    return [token for token in words(text) if token not in STOPWORDS]


def numbers(text: str) -> set[str]:
    """The numbers a text states, normalised ("1,000" -> "1000", "six" -> "6")."""
    text = _join_thousands(text.lower())
    found = {_canonical_number(n) for n in _NUMBER.findall(text)}
    found.update(_NUMBER_WORDS[w] for w in re.findall(r"[a-z]+", text) if w in _NUMBER_WORDS)
    return found


def _canonical_number(token: str) -> str:
    if "." in token:
        token = token.rstrip("0").rstrip(".")
    return token.lstrip("0") or "0"
