"""What a chat shown in the browser says, read back from its messages.

The chat's messages are the one record of a conversation: what the user deletes,
undoes or edits there is gone from follow-ups too, and a conversation restored after a
reload is just its messages. So the plain turns that follow-up questions are rewritten
from, and the Markdown export, are both read from the HTML that `ui.render` wrote.
"""

from __future__ import annotations

import html
from html.parser import HTMLParser

from ui.render import parse_ref

Message = dict


class _AnswerReader(HTMLParser):
    """Collects the answer's text (`.rag-answer`) and its sources (`.rag-source` cards:
    heading, quoted words, link into the document)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.answer: list[str] = []
        self.sources: list[dict] = []
        self._stack: list[str] = []
        self._in = ""

    def handle_starttag(self, tag, attrs):
        classes = (dict(attrs).get("class") or "").split()
        if tag == "br":
            if self._in == "answer":
                self.answer.append("\n")
            return
        label = ""
        if "rag-answer" in classes:
            label = "answer"
        elif "rag-source" in classes:
            self.sources.append({"head": [], "quote": [], "ref": None})
            label = "source"
        elif "rag-source-head" in classes and self.sources:
            label = "head"
        elif tag == "mark" and self.sources and self._in == "source":
            label = "quote"
        elif "rag-open" in classes and self.sources:
            self.sources[-1]["ref"] = parse_ref(dict(attrs).get("href") or "")
        self._stack.append(self._in)
        if label:
            self._in = label

    def handle_endtag(self, tag):
        if tag == "br":
            return
        if self._stack:
            self._in = self._stack.pop()

    def handle_data(self, data):
        if self._in == "answer":
            self.answer.append(data)
        elif self._in == "head" and self.sources:
            self.sources[-1]["head"].append(data)
        elif self._in == "quote" and self.sources:
            self.sources[-1]["quote"].append(data)


def _read(content: str) -> _AnswerReader:
    reader = _AnswerReader()
    reader.feed(content)
    reader.close()
    return reader


def content_text(content) -> str:
    """The text of a chat message's content: a string as written here, or the list of
    parts ({"type": "text", "text": ...}) it comes back from the browser as."""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        return str(content.get("text") or "")
    if isinstance(content, (list, tuple)):
        return "".join(content_text(part) for part in content)
    return ""



def question_text(content) -> str:
    """A question as the user typed it, from its chat message (stored escaped)."""
    return html.unescape(content_text(content))


def answer_text(content: str) -> str:
    """The answer's words (markers kept as [n]) from its chat message; a message this UI
    did not write (a stopped draft, an error) is read as plain text."""
    reader = _read(content_text(content))
    if reader.answer:
        return " ".join("".join(reader.answer).split())
    return " ".join(html.unescape(_strip_tags(content_text(content))).split())


def _strip_tags(content: str) -> str:
    out, depth = [], 0
    for char in content:
        if char == "<":
            depth += 1
        elif char == ">" and depth:
            depth -= 1
        elif not depth:
            out.append(char)
    return "".join(out)


def turns(messages: list[Message]) -> list[tuple[str, str]]:
    """(role, plain text) of each finished message, for rewriting follow-ups."""
    result = []
    for message in messages or []:
        role = message.get("role")
        if role == "user":
            result.append(("user", question_text(message.get("content"))))
        elif role == "assistant":
            content = content_text(message.get("content"))
            if "rag-stopped" in content or "rag-step" in content:
                continue  # stopped, or still being written: no answer to follow up on
            text = answer_text(content)
            if text:
                result.append(("assistant", text))
    return result


def to_markdown(messages: list[Message], title: str = "Chat") -> str:
    """The conversation as Markdown: each question, each answer with its markers, and
    under it the sources with the exact words they cite."""
    lines = [f"# {title}", ""]
    for message in messages or []:
        content = content_text(message.get("content"))
        if message.get("role") == "user":
            lines += [f"**Question:** {question_text(content)}", ""]
            continue
        reader = _read(content)
        lines += [f"**Answer:** {answer_text(content)}", ""]
        for source in reader.sources:
            head = " ".join("".join(source["head"]).split())
            quote = " ".join("".join(source["quote"]).split())
            lines.append(f"- {head}")
            if quote:
                lines.append(f"  > {quote}")
            ref = source["ref"]
            if ref is not None:
                lines.append(f"  (`{ref.source}`, characters {ref.start}–{ref.end})")
        if reader.sources:
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def title_of(messages: list[Message]) -> str:
    """A chat's name in the list of past chats: its first question, shortened."""
    first = next((question_text(m.get("content")) for m in messages or []
                  if m.get("role") == "user"), "New chat")
    first = " ".join(first.split())
    return first if len(first) <= 60 else first[:57].rstrip() + "…"
