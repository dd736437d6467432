"""Pure helpers that turn answers and documents into safe HTML for the chat.

Everything that comes from a document or a model is escaped: a `<script>` inside a
source shows as text. Each answer message carries its own sources section, so the
source viewer can show the passage of any marker in any message.
"""

from __future__ import annotations

import html
import re
import time

from index.types import DocumentInfo
from rag.types import Answer, Citation, Passage

CONTEXT_CHARS = 400
"""Characters of surrounding text shown around a cited span in the viewer."""


def _escape(text: str) -> str:
    """HTML-escaped, line breaks as <br>: a message stays one HTML block, so Markdown
    never reinterprets document text."""
    return html.escape(text, quote=True).replace("\r", "").replace("\n", "<br>")


def _location(item: Citation | Passage) -> str:
    parts = [f"<b>{_escape(item.title or item.name)}</b>"]
    if item.date:
        parts.append(_escape(item.date))
    if item.page:
        parts.append(f"page {item.page}")
    parts.append(f"<code>{_escape(item.name)}</code>")
    return " · ".join(parts)


def highlighted(citation: Citation, document_text: str | None) -> str:
    """The cited words marked inside their paragraph (trimmed to a readable length)."""
    if not document_text or document_text[citation.start:citation.end] != citation.quote:
        return f"<mark>{_escape(citation.quote)}</mark>"
    start = document_text.rfind("\n\n", 0, citation.start)
    start = 0 if start < 0 else start + 2
    end = document_text.find("\n\n", citation.end)
    end = len(document_text) if end < 0 else end
    start = max(start, citation.start - CONTEXT_CHARS)
    end = min(end, citation.end + CONTEXT_CHARS)
    before = document_text[start:citation.start]
    after = document_text[citation.end:end]
    lead = "…" if start > 0 and document_text[start - 1] not in "\n" else ""
    tail = "…" if end < len(document_text) and document_text[end] not in "\n" else ""
    return (lead + _escape(before) + f"<mark>{_escape(citation.quote)}</mark>" + _escape(after)
            + tail)


def answer_html(answer: Answer, documents: dict[str, str], show_passages: bool = False) -> str:
    """The chat message: the answer with clickable markers, then its sources."""
    if answer.abstained:
        return (f"<p class='rag-abstain'>{_escape(answer.text)}</p>"
                f"<p class='rag-why'><small>{_escape(answer.abstain_reason)}</small></p>"
                if answer.abstain_reason else f"<p class='rag-abstain'>{_escape(answer.text)}</p>")
    # The chat's sanitiser drops data-* attributes: the marker number travels in the
    # href and in a class name.
    body = re.sub(r"\[(\d+)\]", lambda m: f"<a class='rag-cite' href='#rag-src-{m.group(1)}'>"
                  f"[{m.group(1)}]</a>", _escape(answer.text))
    parts = [f"<p class='rag-answer'>{body}</p>"]
    if answer.unsupported:
        parts.append("<p class='rag-unsupported'><small>⚠ Not supported by the documents: "
                     f"{_escape(' '.join(answer.unsupported))}</small></p>")
    if answer.citations:
        cards = []
        for citation in answer.citations:
            cards.append(
                f"<div class='rag-source rag-src-{citation.marker}'>"
                f"<div class='rag-source-head'>[{citation.marker}] {_location(citation)}</div>"
                f"<blockquote>{highlighted(citation, documents.get(citation.source))}"
                "</blockquote></div>")
        parts.append("<details class='rag-sources' open><summary>Sources</summary>"
                     + "".join(cards) + "</details>")
    if show_passages and answer.passages:
        cited = {c.passage: c.marker for c in answer.citations}
        items = "".join(
            f"<li>{_location(p)}{f' (cited as [{cited[p.number]}])' if p.number in cited else ''}"
            f"<br>{_escape(p.text)}</li>" for p in answer.passages)
        parts.append("<details class='rag-passages'><summary>Passages the model read</summary>"
                     f"<ul>{items}</ul></details>")
    parts.append(f"<p class='rag-actions'><span class='rag-chance' title='The estimated chance "
                 f"that this answer is right, from how well the cited words back it'>"
                 f"{chance(answer.confidence)}</span> · "
                 "<a class='rag-copy' href='#copy'>Copy answer</a></p>")
    return "".join(parts)


def chance(probability: float) -> str:
    """The answer's chance of being right, in words a reader takes at a glance."""
    return f"Chance this answer is right: {round(100 * probability)}%"


def viewer_html(answer: Answer | None, documents: dict[str, str], marker: int | None = None) -> str:
    """The source viewer beside the chat: one citation's passage in its context."""
    if answer is None:
        return "<div class='rag-viewer-empty'>Click a marker such as [1] in an answer to see " \
               "the passage it cites.</div>"
    if answer.abstained or not answer.citations:
        return "<div class='rag-viewer-empty'>No sources for this answer: the documents do " \
               "not answer the question.</div>"
    citation = next((c for c in answer.citations if c.marker == marker), answer.citations[0])
    return (f"<div class='rag-viewer-item'><div class='rag-source-head'>[{citation.marker}] "
            f"{_location(citation)}</div>"
            f"<div class='rag-viewer-text'>{highlighted(citation, documents.get(citation.source))}"
            "</div></div>")


def timings_line(answer: Answer) -> str:
    order = ["rewrite", "retrieve", "generate", "judge", "check", "total"]
    parts = [f"{k} {answer.timings[k]:.1f} s" for k in order if k in answer.timings]
    if answer.standalone_question and answer.standalone_question != answer.question:
        parts.append(f"searched for: “{answer.standalone_question}”")
    return " · ".join(parts)


def documents_table(documents: list[DocumentInfo]) -> list[list]:
    return [[d.title, d.name, d.date or "", d.chunk_count,
              time.strftime("%Y-%m-%d %H:%M", time.localtime(d.indexed_at))]
            for d in documents]
