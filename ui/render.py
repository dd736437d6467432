"""Pure helpers that turn answers and documents into safe HTML for the chat.

Everything that comes from a document or a model is escaped: a `<script>` inside a
source shows as text. Each answer message carries its own sources section, so the
source viewer can show the passage of any marker in any message.
"""

from __future__ import annotations

import html
import re
import time
from dataclasses import dataclass
from textwrap import shorten
from urllib.parse import quote, unquote

from index.types import DocumentInfo
from rag.types import Answer, Citation, Passage

CONTEXT_CHARS = 400
"""Characters of surrounding text shown around a cited span in the viewer."""


def _escape(text: str) -> str:
    """HTML-escaped, line breaks as <br>: a message stays one HTML block, so Markdown
    never reinterprets document text."""
    return html.escape(text, quote=True).replace("\r", "").replace("\n", "<br>")


def _location(item: Citation | Passage | DocumentInfo, title: str | None = None,
              page: int | None = None) -> str:
    """Where something comes from: title, date, page, file name (`title` and `page`
    stand in for the item's own)."""
    parts = [f"<b>{_escape(title or item.title or item.name)}</b>"]
    if item.date:
        parts.append(_escape(item.date))
    if page or getattr(item, "page", None):
        parts.append(f"page {page or item.page}")
    parts.append(f"<code>{_escape(item.name)}</code>")
    return " · ".join(parts)


EXCERPT_CHARS = CONTEXT_CHARS + 2
"""Characters of document text `highlighted` needs on each side of a citation."""

Excerpt = tuple[str, int]
"""A stretch of a document's text and its offset in the document (the whole text, at 0,
is one too)."""


def highlighted(citation: Citation, excerpt: Excerpt | None) -> str:
    """The cited words marked inside their paragraph (trimmed to a readable length).
    `excerpt` must reach `EXCERPT_CHARS` past the citation on both sides, or to the
    document's ends."""
    if excerpt is None:
        return f"<mark>{_escape(citation.quote)}</mark>"
    text, offset = excerpt
    cited_start, cited_end = citation.start - offset, citation.end - offset
    if cited_start < 0 or text[cited_start:cited_end] != citation.quote:
        return f"<mark>{_escape(citation.quote)}</mark>"
    start = text.rfind("\n\n", 0, cited_start)
    start = 0 if start < 0 else start + 2
    end = text.find("\n\n", cited_end)
    end = len(text) if end < 0 else end
    start = max(start, cited_start - CONTEXT_CHARS)
    end = min(end, cited_end + CONTEXT_CHARS)
    before = text[start:cited_start]
    after = text[cited_end:end]
    lead = "…" if start > 0 and text[start - 1] not in "\n" else ""
    tail = "…" if end < len(text) and text[end] not in "\n" else ""
    return (lead + _escape(before) + f"<mark>{_escape(citation.quote)}</mark>" + _escape(after)
            + tail)


def answer_html(answer: Answer, excerpts: dict[int, Excerpt],
                show_passages: bool = False) -> str:
    """The chat message: the answer with clickable markers, then its sources, each with
    the text around its cited words (`excerpts`, by citation marker)."""
    if answer.abstained:
        why = (f"<p class='rag-why'><small>Why: {_escape(plain_reason(answer))}</small></p>"
               if answer.abstain_reason else "")
        if standalone := rewritten(answer):
            # A rewrite that carried over too much from the conversation is declined:
            # say so beside the decline, not only in the timings line.
            why += (f"<p class='rag-why'><small>Your follow-up was read as "
                    f"“{_escape(standalone)}”. If you meant something else, ask it in full."
                    "</small></p>")
        return (f"<p class='rag-abstain rag-answer'>{_escape(answer.text)}</p>{why}"
                + closest_html(answer))
    # The chat's sanitiser drops data-* attributes: the marker number travels in the
    # href and in a class name.
    body = re.sub(r"\[(\d+)\]", lambda m: f"<a class='rag-cite' href='#rag-src-{m.group(1)}'>"
                  f"[{m.group(1)}]</a>", _escape(answer.text))
    parts = [f"<p class='rag-answer'>{body}</p>"]
    if answer.unsupported:
        parts.append("<p class='rag-unsupported'><small>⚠ Not clearly stated in the documents: "
                     f"{_escape(' '.join(answer.unsupported))}</small></p>")
    if answer.citations:
        cards = []
        for citation in answer.citations:
            cards.append(
                f"<div class='rag-source rag-src-{citation.marker}'>"
                f"<div class='rag-source-head'>[{citation.marker}] {_location(citation)}</div>"
                f"<blockquote>{highlighted(citation, excerpts.get(citation.marker))}"
                f"</blockquote><a class='rag-open' href='{open_ref(citation)}'>"
                "Show in the document</a></div>")
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


CLOSEST_CHARS = 500
"""A closest passage longer than this is cut at a word boundary."""


def closest_html(answer: Answer) -> str:
    """A collapsed list of the passages closest to a declined question, each a link into
    its document (marker 0: the viewer calls it a closest passage, not a citation). They
    are not sources: the export and follow-ups leave them out."""
    best = answer.closest()
    if not best:
        return ""
    cards = "".join(
        f"<div class='rag-found-card'><div class='rag-source-head'>{_location(p)}</div>"
        f"<blockquote>{_escape(shorten(p.text, CLOSEST_CHARS, placeholder=' …'))}"
        f"</blockquote><a class='rag-open' href='{_ref(0, p.source, p.start, p.end, p.page)}'>"
        "Show in the document</a></div>" for p in best)
    return ("<details class='rag-sources rag-found'><summary>The closest passages found "
            "(they do not clearly answer the question)</summary>" + cards + "</details>")


def chance(probability: float) -> str:
    """The answer's chance of being right, in words a reader takes at a glance."""
    return f"Chance this answer is right: {round(100 * probability)}%"


VIEWER_EMPTY = ("<div class='rag-viewer-empty'>Click a marker such as [1] in an answer to see "
                "the words it cites in their document.</div>")

WINDOW_CHARS = 200_000
"""Of a very long document, the viewer shows this many characters on each side of the
cited words (the whole document when it is shorter)."""


def open_ref(citation: Citation) -> str:
    """The link a source card carries to open its citation in the document viewer (the
    chat's sanitiser keeps href and class but drops data-* attributes)."""
    return _ref(citation.marker, citation.source, citation.start, citation.end, citation.page)


def _ref(marker: int, source: str, start: int, end: int, page: int | None) -> str:
    return f"#rag-open:{marker}:{start}:{end}:{page or 0}:{quote(source, safe='')}"


@dataclass(frozen=True)
class CitationRef:
    """One citation as the browser sends it back: which words of which document."""

    marker: int
    source: str
    start: int
    end: int
    page: int = 0


def parse_ref(ref: str) -> CitationRef | None:
    """The inverse of `open_ref`; None for anything else (it comes from the browser)."""
    match = re.fullmatch(r"#rag-open:(\d{1,4}):(\d{1,12}):(\d{1,12}):(\d{1,6}):(.+)", ref or "")
    if not match or int(match.group(2)) > int(match.group(3)):
        return None
    marker, start, end, page = (int(match.group(i)) for i in range(1, 5))
    return CitationRef(marker, unquote(match.group(5)), start, end, page)


def document_html(document: DocumentInfo, window: tuple[str, int, int],
                  refs: list[CitationRef], current: int) -> str:
    """The document's text (`window`: text, its offset, the document's length; the whole
    text, or `WINDOW_CHARS` either side of the chosen citation for a very long one) with
    the answer's cited words in it marked, the chosen one scrolled to, the others a click
    away."""
    ref = refs[current]
    text, lo, length = window
    hi = lo + len(text)
    chosen = (ref.start, ref.end)
    # The chosen words are always marked: others that overlap them are left unmarked.
    marks = sorted({(r.start, r.end) for r in refs if r.source == ref.source
                    and lo <= r.start < r.end <= hi
                    and ((r.start, r.end) == chosen or r.end <= ref.start or r.start >= ref.end)})
    body, cursor = [], lo
    for start, end in marks:
        if start < cursor:  # overlaps a mark already drawn
            continue
        body.append(_escape(text[cursor - lo:start - lo]))
        attributes = ("class='rag-mark rag-current' id='rag-current'" if (start, end) == chosen
                      else "class='rag-mark'")
        body.append(f"<mark {attributes}>{_escape(text[start - lo:end - lo])}</mark>")
        cursor = end
    body.append(_escape(text[cursor - lo:]))
    head = _location(document, title=document.title or ref.source, page=ref.page)
    nav = []
    if len(refs) > 1:
        def link(index: int, label: str) -> str:
            return (f"<a class='rag-nav' href='#rag-nav:{index}' "
                    f"title='{_name(refs[index])}'>{label}</a>")
        nav.append(link((current - 1) % len(refs), "◀ Previous"))
        nav.append(f"<span>{_name(ref)}, {current + 1} of {len(refs)}</span>")
        nav.append(link((current + 1) % len(refs), "Next ▶"))
    else:
        nav.append(f"<span>{_name(ref)}</span>")
    note = ""
    if lo > 0 or hi < length:
        note = (f"<p class='rag-viewer-note'>A long document: showing characters {lo:,} to "
                f"{hi:,} of {length:,}.</p>")
    return (f"<div class='rag-viewer-item'><div class='rag-source-head'>{head}</div>"
            f"<div class='rag-viewer-nav'>{' '.join(nav)}</div>{note}"
            f"<div class='rag-viewer-doc' tabindex='0'>{''.join(body)}</div></div>")


def _name(ref: CitationRef) -> str:
    """What the viewer calls a ref: an answer's citation, or (marker 0) a passage shown
    under a decline."""
    return f"citation [{ref.marker}]" if ref.marker else "closest passage"


def viewer_missing(source: str) -> str:
    return (f"<div class='rag-viewer-empty'>{_escape(source)} is no longer in the index: it "
            "was removed or re-indexed after this answer.</div>")


STEPS = {
    "rewrite": "Rewriting your follow-up…",
    "retrieve": "Searching {documents}…",
    "guess": "Searching again in other words…",
    "generate": "Writing…",
    "check": "Checking citations…",
}


def step_html(step: str, documents: int, draft: str = "") -> str:
    """What the assistant is doing, shown in the answer's bubble until it lands; a draft
    streams under it, marked as not yet checked."""
    label = STEPS.get(step, "Working…").format(
        documents=f"{documents:,} document{'s' if documents != 1 else ''}")
    parts = [f"<p class='rag-step' role='status'>{_escape(label)}</p>"]
    if draft:
        parts.append("<p class='rag-draft' title='Not yet checked against the documents: the "
                     "checks may still replace it'><span class='rag-unchecked'>Unchecked "
                     f"draft:</span> {_escape(draft)}</p>")
    return "".join(parts)


def plain_reason(answer: Answer) -> str:
    """Why the assistant declined, in words for a reader rather than a developer."""
    reason = answer.abstain_reason
    match = re.match(r"the chance that the answer is right is [\d.]+, below [\d.]+: (.*)", reason)
    if match:
        return (f"I am not sure enough to answer (about {round(100 * answer.confidence)}% "
                f"chance of being right): {match.group(1)}.")
    return reason[:1].upper() + reason[1:] + ("" if reason.endswith(".") else ".")


def rewritten(answer: Answer) -> str:
    """The question as searched, when a follow-up was rewritten to stand alone; else ""."""
    standalone = answer.standalone_question
    return standalone if standalone and standalone != answer.question else ""


def timings_line(answer: Answer) -> str:
    order = ["rewrite", "guess", "retrieve", "generate", "judge", "check", "total"]
    parts = [f"{k} {answer.timings[k]:.1f} s" for k in order if k in answer.timings]
    if standalone := rewritten(answer):
        shown = _MARKDOWN.sub(r"\\\1", standalone)
        parts.append(f"searched for: “{shown}”")
    return " · ".join(parts)


_MARKDOWN = re.compile(r"([\\`*_\[\]()<>#!|~{}&])")
"""Characters that Markdown (the line under the chat is Markdown) would read as markup:
the rewritten question is the model's text and must show as text, never as a link."""


def documents_table(documents: list[DocumentInfo]) -> list[list]:
    return [[d.title, d.name, d.date or "", d.chunk_count,
              time.strftime("%Y-%m-%d %H:%M", time.localtime(d.indexed_at))]
            for d in documents]
