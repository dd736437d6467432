"""Pure helpers that turn an `Answer` into safe HTML and Markdown for the chat.

Everything from a document is escaped: a `<script>` inside a source shows as text.
"""

from __future__ import annotations

import html
import re

from rag.types import Answer, Citation, Passage

_MARKER = re.compile(r"\[(\d+)\]")


def escape_markdown(text: str) -> str:
    """Text that Markdown and the HTML it allows will show literally."""
    text = html.escape(text, quote=False)
    return re.sub(r"([\\`*_{}\[\]()#+!|~>-])", r"\\\1", text)


def answer_markdown(answer: Answer) -> str:
    """The answer for the chat bubble: escaped text with markers as superscript links."""
    if answer.abstained:
        return escape_markdown(answer.text)
    text = escape_markdown(answer.text)
    text = re.sub(r"\\\[(\d+)\\\]", r"<sup>[\1](#source-\1)</sup>", text)
    if answer.unsupported:
        text += "\n\n<small>⚠ Not supported by the documents: " + escape_markdown(
            " ".join(answer.unsupported)) + "</small>"
    return text


def _location(c: Citation | Passage) -> str:
    parts = [html.escape(c.title or c.name)]
    if c.date:
        parts.append(html.escape(c.date))
    if c.page:
        parts.append(f"page {c.page}")
    parts.append(f"<code>{html.escape(c.name)}</code>")
    return " · ".join(parts)


def highlighted_passage(citation: Citation, passage: Passage | None) -> str:
    """The cited words marked inside the passage they come from (all escaped)."""
    if passage is None or not (passage.start <= citation.start and citation.end <= passage.end):
        return f"<mark>{html.escape(citation.quote)}</mark>"
    before = passage.text[: citation.start - passage.start]
    after = passage.text[citation.end - passage.start:]
    return (html.escape(before) + f"<mark>{html.escape(citation.quote)}</mark>"
            + html.escape(after))


def sources_html(answer: Answer | None) -> str:
    """One card per citation: where it is from and the quoted words in context."""
    if answer is None:
        return ""
    if answer.abstained or not answer.citations:
        return "<p class='rag-none'>No sources: the documents do not answer this.</p>" \
            if answer.abstained else ""
    by_number = {p.number: p for p in answer.passages}
    cards = []
    for citation in answer.citations:
        passage = by_number.get(citation.marker)
        cards.append(
            f"<div class='rag-source' id='source-{citation.marker}'>"
            f"<div class='rag-source-head'><b>[{citation.marker}]</b> {_location(citation)}</div>"
            f"<blockquote>{highlighted_passage(citation, passage)}</blockquote></div>"
        )
    return "\n".join(cards)


def timings_line(answer: Answer) -> str:
    order = ["rewrite", "retrieve", "generate", "cite", "total"]
    return " · ".join(f"{k} {answer.timings[k]:.1f} s" for k in order if k in answer.timings)
