"""Sentences and chunks, with character offsets into the document text.

Chunks are windows of whole sentences that stay inside one paragraph (a very short
paragraph, such as a heading, joins the one after it), so a retrieved chunk reads
as a coherent passage. Every span satisfies `text[start:end] == chunk.text`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from index.types import Chunk, SourceDocument, chunk_id

DEFAULT_CHUNK_SIZE = 400
DEFAULT_CHUNK_OVERLAP = 120
SHORT_PARAGRAPH = 80
"""Paragraphs shorter than this (headings, bylines) are chunked with the next one."""

# Both patterns run in linear time on any input: a match may only begin where a run of
# its leading characters begins (the look-behind), and runs are taken whole (possessive
# `*+`/`++`), so a long run of spaces or dots is scanned once, not once per character.
_PARAGRAPH_BREAK = re.compile(r"(?<![ \t\r\f\v])[ \t\r\f\v]*+\n(?:[ \t\r\f\v]*+\n)+")
# End punctuation, optional closing quotes/brackets, whitespace, then something that
# can start a sentence.
_SENTENCE_END = re.compile(
    r"(?<![.!?…])[.!?…]++[\"'”’)\]]*+(?=\s++[\"'“‘(\[#@]?[A-Z0-9À-Ý])")
_WORD_CHAR = re.compile(r"[^\W_]")
"""A letter or digit in any script: a piece without one (a rule of dashes, a run of
dots) can answer no question, so it is not made into a chunk."""
_ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof gen col lt sgt capt cmdr adm gov sen rep st jr sr vs etc no nos "
    "fig vol inc ltd co corp dept est approx jan feb mar apr jun jul aug sep sept oct nov "
    "dec mt ft u.s u.k u.n e.g i.e a.m p.m ca cf al op pp ed eds rev hon".split()
)


def _trimmed(text: str, start: int, end: int) -> tuple[int, int] | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if start < end else None


def paragraph_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Spans of the paragraphs (separated by blank lines) in `text[start:end]`."""
    end = len(text) if end is None else end
    spans = []
    cursor = start
    for match in _PARAGRAPH_BREAK.finditer(text, start, end):
        span = _trimmed(text, cursor, match.start())
        if span:
            spans.append(span)
        cursor = match.end()
    span = _trimmed(text, cursor, end)
    if span:
        spans.append(span)
    return spans


def _is_abbreviation(text: str, punct_at: int) -> bool:
    """Whether the '.' at `punct_at` ends an abbreviation or an initial, not a sentence."""
    if text[punct_at] != ".":
        return False
    word_start = punct_at
    while word_start > 0 and (text[word_start - 1].isalpha() or text[word_start - 1] == "."):
        word_start -= 1
    word = text[word_start:punct_at]
    if len(word) == 1 and word.isupper():
        return True
    return word.lower() in _ABBREVIATIONS


def _line_spans(text: str, start: int, end: int, hard_wrapped: bool) -> list[tuple[int, int]]:
    if hard_wrapped:
        return [(start, end)]
    spans = []
    cursor = start
    while cursor < end:
        newline = text.find("\n", cursor, end)
        stop = end if newline == -1 else newline
        span = _trimmed(text, cursor, stop)
        if span:
            spans.append(span)
        cursor = stop + 1
    return spans


def sentence_spans(text: str, start: int = 0, end: int | None = None,
                   hard_wrapped: bool = False) -> list[tuple[int, int]]:
    """Spans of the sentences in `text[start:end]`.

    Sentences never cross a paragraph break; unless `hard_wrapped` (PDF layout),
    a line break ends a sentence too, so headings and list items stand alone.
    """
    spans = []
    for p_start, p_end in paragraph_spans(text, start, end):
        for l_start, l_end in _line_spans(text, p_start, p_end, hard_wrapped):
            cursor = l_start
            for match in _SENTENCE_END.finditer(text, l_start, l_end):
                if _is_abbreviation(text, match.start()):
                    continue
                span = _trimmed(text, cursor, match.end())
                if span:
                    spans.append(span)
                cursor = match.end()
            span = _trimmed(text, cursor, l_end)
            if span:
                spans.append(span)
    return spans


def _split_long(text: str, span: tuple[int, int], limit: int) -> list[tuple[int, int]]:
    """Cut a span longer than `limit` at whitespace into pieces of at most `limit`."""
    start, end = span
    pieces = []
    while end - start > limit:
        cut = text.rfind(" ", start + 1, start + limit + 1)
        if cut <= start:
            cut = start + limit
        piece = _trimmed(text, start, cut)
        if piece:
            pieces.append(piece)
        start = cut
        while start < end and text[start].isspace():
            start += 1
    piece = _trimmed(text, start, end)
    if piece:
        pieces.append(piece)
    return pieces


def _windows(spans: list[tuple[int, int]], size: int, overlap: int) -> list[tuple[int, int]]:
    """Greedy windows of consecutive spans, each at most `size` characters long,
    where a window repeats the trailing spans of the one before (up to `overlap`)."""
    windows = []
    i = 0
    while i < len(spans):
        j = i
        while j + 1 < len(spans) and spans[j + 1][1] - spans[i][0] <= size:
            j += 1
        windows.append((spans[i][0], spans[j][1]))
        if j == len(spans) - 1:
            break
        k = j + 1
        while k - 1 > i and spans[j][1] - spans[k - 1][0] <= overlap:
            k -= 1
        i = k
    return windows


def validate(chunk_size: int, chunk_overlap: int) -> None:
    if chunk_size < 50:
        raise ValueError(f"chunk size must be at least 50 characters, got {chunk_size}")
    if not 0 <= chunk_overlap < chunk_size:
        raise ValueError(
            f"chunk overlap must be between 0 and the chunk size ({chunk_size}), got {chunk_overlap}"
        )


def chunk_spans(doc: SourceDocument, chunk_size: int = DEFAULT_CHUNK_SIZE,
                chunk_overlap: int = DEFAULT_CHUNK_OVERLAP) -> Iterator[tuple[int, int]]:
    """(start, end) of each sentence-aligned chunk of at most `chunk_size` characters, in
    document order, one paragraph group at a time (nothing else is held)."""
    validate(chunk_size, chunk_overlap)
    text = doc.text

    def windows(sentences: list[tuple[int, int]]) -> list[tuple[int, int]]:
        pieces = [piece for span in sentences for piece in _split_long(text, span, chunk_size)
                  if _WORD_CHAR.search(text, *piece)]
        return _windows(pieces, chunk_size, chunk_overlap)

    pending: list[tuple[int, int]] = []
    for p_start, p_end in paragraph_spans(text, doc.body_start):
        pending.extend(sentence_spans(text, p_start, p_end, doc.hard_wrapped))
        if p_end - p_start >= SHORT_PARAGRAPH:
            yield from windows(pending)
            pending = []
    if pending:
        yield from windows(pending)


def make_chunk(doc: SourceDocument, start: int, end: int, index: int) -> Chunk:
    """The chunk of `doc` from `start` to `end`, the `index`-th of its document."""
    chunk_text = doc.text[start:end]
    return Chunk(id=chunk_id(doc.source, start, chunk_text), source=doc.source,
                 text=chunk_text, start=start, end=end, title=doc.title, date=doc.date,
                 page=doc.page_at(start), index=index)


def split_document(doc: SourceDocument, chunk_size: int = DEFAULT_CHUNK_SIZE,
                   chunk_overlap: int = DEFAULT_CHUNK_OVERLAP) -> list[Chunk]:
    """Cut a document into sentence-aligned chunks of at most `chunk_size` characters."""
    return [make_chunk(doc, start, end, index) for index, (start, end)
            in enumerate(chunk_spans(doc, chunk_size, chunk_overlap))]
