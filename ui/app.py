"""The Gradio chat: `build_app(assistant)` returns the Blocks; `launch()` serves them.

The UI talks only to `Assistant`. Errors a user can fix (`RagError`) are shown as
they are; anything else is logged and shown as a short generic message. The chat's
messages are the one record of a conversation (`ui.transcript` reads follow-ups and
exports from them), kept in the browser across reloads. Clicking a citation marker
opens its whole document in the source viewer: the page's script (`ui/chat.js`) sends
the marker's reference to the server, which shows only documents in the index.
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import html
import json
import logging
import os
import queue
import secrets
import shutil
import signal
import sys
import tempfile
import threading
import uuid
import weakref
from collections.abc import Iterator
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr  # noqa: E402

from index.types import DocumentInfo  # noqa: E402
from rag.assistant import Assistant  # noqa: E402
from rag.config import BACKENDS, Settings  # noqa: E402
from rag.errors import RagError  # noqa: E402
from rag.types import Answer  # noqa: E402
from ui import transcript  # noqa: E402
from ui import uploads as uploads_module  # noqa: E402
from ui.render import (  # noqa: E402
    EXCERPT_CHARS,
    VIEWER_EMPTY,
    WINDOW_CHARS,
    CitationRef,
    answer_html,
    document_html,
    documents_table,
    parse_ref,
    step_html,
    timings_line,
    viewer_missing,
)

log = logging.getLogger(__name__)

EXAMPLES = {
    # Questions for the bundled article (by its title), offered only while it is indexed:
    # four it answers and one it does not, to show both.
    'Pentagon Holds Rare Call With Belarus Army Chief To Avoid "Miscalculation"': [
        "How many warships did Russia send to the Black Sea?",
        "How many Russian troops does the US expect in Belarus?",
        "How long is the Belarusian border with Ukraine?",
        "Who is the NATO Secretary General?",
        "What is the population of Ukraine?",
    ],
}
UPLOAD_TYPES = [".txt", ".md", ".markdown", ".html", ".htm", ".pdf"]
TABLE_HEADERS = ["Title", "File", "Date", "Chunks", "Indexed"]
MAX_SAVED_CHATS = 20
"""Past chats kept in the browser (its local storage holds a few megabytes)."""
MAX_DOWNLOAD_MB = 100
"""The viewer offers the original file for download up to this size."""

_HERE = Path(__file__).parent
CSS = (_HERE / "chat.css").read_text(encoding="utf-8")
HEAD = f"<script>\n{(_HERE / 'chat.js').read_text(encoding='utf-8')}</script>"
"""The page's script (ui/chat.js): a marker or "Show in the document" link asks the server
for the document through a hidden box, the viewer's arrows step through the answer's
citations, Esc stops an answer, empty or busy questions are refused in the page, screen
readers get words instead of HTML, and the phone's sheet has its style (added at run
time and keyed to <body>: Gradio scopes `css` and any <style> in the head to its
container, and redraws its own elements' classes)."""


SCROLL_TO_MARK = """() => {
  let tries = 0;
  const go = () => {
    const mark = document.querySelector("#rag-viewer #rag-current");
    const box = mark && mark.closest(".rag-viewer-doc");
    if (!box) { if (tries++ < 20) setTimeout(go, 50); return; }
    box.scrollTop = Math.max(0, mark.offsetTop - box.clientHeight / 3);
  };
  go();
}"""

CLOSE_DRAWER = "() => { document.body.classList.remove('rag-drawer-open'); }"


def _user_error(exc: Exception) -> str:
    """The one line a user sees for `exc`: its own words for an error they can fix,
    a generic line (details in the server log) for anything else."""
    if isinstance(exc, RagError):
        return str(exc)
    log.exception("unexpected error in the UI")
    return "Something went wrong; the details are in the server log."


def _raise(exc: Exception) -> gr.Error:
    return gr.Error(_user_error(exc), print_exception=False)


def _friendly(handler):
    """`handler`, with any error it raises shown as one line (`_user_error`) rather than
    as Gradio shows it: the exception's own text."""
    @functools.wraps(handler)
    def wrapped(*args, **kwargs):
        try:
            return handler(*args, **kwargs)
        except gr.Error:
            raise
        except Exception as exc:  # noqa: BLE001 - shown as one line, logged in full
            raise _raise(exc) from None
    return wrapped


def ready_backends(settings: Settings) -> tuple[list[str], list[str]]:
    """Backends that work as configured, and hints for the ones that are not set up (a
    server backend counts as set up when its address was given, or it is the default)."""
    given = settings.model_fields_set
    ready, hints = [], []
    for name in BACKENDS:
        if name in ("local", "extractive") or name == settings.backend:
            ready.append(name)
        elif name == "openai" and "openai_base_url" in given:
            ready.append(name)
        elif name == "ollama" and "ollama_base_url" in given:
            ready.append(name)
        elif name == "openai":
            hints.append("openai: set RAG_OPENAI_BASE_URL (and RAG_OPENAI_MODEL) and restart")
        elif name == "ollama":
            hints.append("ollama: set RAG_OLLAMA_BASE_URL (and RAG_OLLAMA_MODEL) and restart")
    return ready, hints


def _secret(index_dir: Path) -> str | None:
    """The key the browser's saved chats are sealed with, kept in the index folder so a
    restarted server can still read them (None: a new key each start)."""
    path = index_dir / "ui-secret"
    try:
        if path.is_file():
            return path.read_text().strip() or None
        index_dir.mkdir(parents=True, exist_ok=True)
        value = secrets.token_urlsafe(24)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(value)
        return value
    except OSError:
        return None


def _working(messages: list[dict]) -> bool:
    """Whether the last message is an answer still being written."""
    return bool(messages) and messages[-1].get("role") == "assistant" and \
        "rag-step" in transcript.content_text(messages[-1].get("content"))


def _asking(messages: list[dict], question: str, documents: int) -> list[dict]:
    return [*messages, {"role": "user", "content": html.escape(question)},
            {"role": "assistant", "content": step_html("retrieve", documents)}]


def _events(assistant: Assistant, question: str, turns: list[tuple[str, str]], backend: str,
            passages: int) -> Iterator[tuple[str, object]]:
    """("step", name), ("text", piece), ("answer", Answer) or ("error", exception) from
    the assistant, produced in a worker thread so that a step is shown when it starts.
    Closing this iterator stops the generation."""
    out: queue.SimpleQueue = queue.SimpleQueue()
    stop = threading.Event()

    def work() -> None:
        stream = assistant.stream(question, turns, backend=backend, passages=passages,
                                  on_step=lambda name: out.put(("step", name)))
        try:
            for item in stream:
                out.put(("answer", item) if isinstance(item, Answer) else ("text", item))
                if stop.is_set():
                    break
        except Exception as exc:  # noqa: BLE001 - shown to the user
            out.put(("error", exc))
        finally:
            stream.close()
            out.put(("end", None))

    threading.Thread(target=work, daemon=True, name="answer").start()
    try:
        while (event := out.get())[0] != "end":
            yield event
    finally:
        stop.set()


def build_app(assistant: Assistant) -> gr.Blocks:
    """The chat UI over `assistant`."""
    settings = assistant.settings
    uploads = settings.index_dir / "uploads"
    exports = Path(tempfile.mkdtemp(prefix="rag-ui-"))
    backends, backend_hints = ready_backends(settings)

    def excerpts(answer: Answer) -> dict[int, tuple[str, int]]:
        """The text around each citation, read from the catalog a window at a time."""
        found = {}
        for citation in answer.citations:
            window = assistant.catalog.text_window(citation.source,
                                                   citation.start - EXCERPT_CHARS,
                                                   citation.end + EXCERPT_CHARS)
            if window is not None:
                found[citation.marker] = window[:2]
        return found

    def count_documents() -> int:
        try:
            return assistant.catalog.document_count()
        except Exception:  # noqa: BLE001 - a count is not worth an error
            return 0

    def respond(messages: list[dict], backend: str, passages: int, show_passages: bool):
        """Answer the question in the last user message: the step and the unchecked draft
        stream into its answer bubble, then the checked answer replaces them. On an error
        the question goes back to the box and nothing is left in the chat."""
        messages = list(messages or [])
        if not _working(messages) or len(messages) < 2:
            yield gr.skip(), gr.skip(), ""
            return
        question = transcript.question_text(messages[-2]["content"])
        history = transcript.turns(messages[:-2])
        indexed = count_documents()
        step, draft = "retrieve", ""
        for kind, value in _events(assistant, question, history, backend, int(passages)):
            if kind == "answer":
                answer = value
                try:
                    shown = answer_html(answer, excerpts(answer), show_passages)
                except Exception as exc:  # noqa: BLE001 - the catalog, read for excerpts
                    kind, value = "error", exc
                else:
                    messages[-1] = {"role": "assistant", "content": shown}
                    yield messages, timings_line(answer), ""
                    return
            if kind == "error":
                gr.Warning(_user_error(value))
                yield messages[:-2], "", question
                return
            if kind == "step":
                step = value
            else:
                draft += value
            messages[-1] = {"role": "assistant", "content": step_html(step, indexed, draft)}
            yield messages, gr.skip(), ""

    def take(message: str, messages: list[dict]):
        """Submit: move the question from the box into the chat at once."""
        messages = list(messages or [])
        if not (message or "").strip():
            return gr.skip(), gr.skip()
        if _working(messages):
            gr.Warning("An answer is still being written: wait for it, or press Stop (Esc). "
                       "Your question stays in the box.")
            return gr.skip(), gr.skip()
        return (gr.update(value="", submit_btn=False, stop_btn=True),
                _asking(messages, message, count_documents()))

    def must_have_text(message: str, messages: list[dict]):
        """The server's own check (the page refuses these first)."""
        return (gr.validate(bool(message and message.strip()), "Type a question first."),
                gr.validate(not _working(list(messages or [])),
                            "An answer is still being written."))

    def example(messages: list[dict], picked: gr.SelectData):
        value = picked.value
        text = value.get("text", "") if isinstance(value, dict) else str(value)
        return (gr.update(value="", submit_btn=False, stop_btn=True),
                _asking(list(messages or []), text, count_documents()))

    def retry(messages: list[dict], data: gr.RetryData):
        """Regenerate: ask the last question again."""
        messages = list(messages or [])[:data.index + 1]
        if messages and messages[-1].get("role") == "assistant":
            messages = messages[:-1]
        if not messages or messages[-1].get("role") != "user":
            return gr.skip(), gr.skip()
        question = transcript.question_text(messages[-1]["content"])
        return (gr.update(value="", submit_btn=False, stop_btn=True),
                _asking(messages[:-1], question, count_documents()))

    def edit(messages: list[dict], data: gr.EditData):
        """Edit a question: the conversation from it on is asked again."""
        messages = list(messages or [])
        text = transcript.question_text(data.value)
        if not text.strip():
            gr.Warning("Type a question first.")
            return gr.skip(), gr.skip()
        return (gr.update(value="", submit_btn=False, stop_btn=True),
                _asking(messages[:data.index], text, count_documents()))

    def undo(messages: list[dict], data: gr.UndoData):
        """Undo: take the last question back into the box."""
        messages = list(messages or [])
        question = transcript.question_text(messages[data.index]["content"]) \
            if data.index < len(messages) else ""
        return messages[:data.index], question

    def stopped(messages: list[dict]):
        messages = list(messages or [])
        if _working(messages):
            messages[-1] = {"role": "assistant", "content":
                            "<p class='rag-stopped'>Stopped before the answer was finished "
                            "and checked.</p>"}
        return messages

    def finish(messages: list[dict], saved: dict, restore: str, box: str):
        """After an answer (or a stop or an error): the box back to Ask, the chat saved
        in the browser, the export ready."""
        saved = dict(saved or {})
        chats = list(saved.get("chats") or [])
        current = saved.get("current") or ""
        if messages:
            if not current:
                current = uuid.uuid4().hex
            entry = {"id": current, "title": transcript.title_of(messages),
                     "messages": messages}
            chats = [entry] + [c for c in chats if c.get("id") != current]
            chats = chats[:MAX_SAVED_CHATS]
        saved = {"current": current, "chats": chats}
        textbox = gr.update(submit_btn="Ask", stop_btn=False)
        if restore and not (box or "").strip():
            textbox = gr.update(value=restore, submit_btn="Ask", stop_btn=False)
        return textbox, saved, past_update(saved), export_file(messages, current), ""

    def past_update(saved: dict):
        chats = (saved or {}).get("chats") or []
        return gr.update(choices=[(c.get("title") or "Chat", c["id"]) for c in chats],
                         value=(saved or {}).get("current") or None)

    @_friendly
    def export_file(messages: list[dict], current: str):
        if not messages:
            return gr.update(value=None, interactive=False)
        path = exports / f"chat-{(current or 'new')[:12]}.md"
        path.write_text(transcript.to_markdown(messages, transcript.title_of(messages)),
                        encoding="utf-8")
        return gr.update(value=str(path), interactive=True)

    def restore_chat(saved: dict):
        """On page load: the chat that was open, and the list of past chats."""
        saved = dict(saved or {})
        chats = saved.get("chats") or []
        current = saved.get("current") or ""
        messages = next((c["messages"] for c in chats if c.get("id") == current), [])
        messages = [m for m in messages if isinstance(m, dict)]
        if _working(messages):  # the page was closed while an answer was written
            messages = stopped(messages)
        return messages, past_update(saved), export_file(messages, current)

    def open_chat(chosen: str | None, saved: dict):
        saved = dict(saved or {})
        chats = saved.get("chats") or []
        entry = next((c for c in chats if c.get("id") == chosen), None)
        if entry is None:
            return gr.skip(), gr.skip(), gr.skip(), gr.skip()
        saved["current"] = entry["id"]
        messages = stopped(entry["messages"])
        return messages, saved, export_file(messages, entry["id"]), ""

    def new_chat(saved: dict):
        saved = dict(saved or {})
        saved["current"] = ""
        return [], saved, past_update(saved), export_file([], ""), "", VIEWER_EMPTY

    def delete_chat(saved: dict):
        """The chat's own trash icon: the conversation is gone, from the list too."""
        saved = dict(saved or {})
        current = saved.get("current") or ""
        saved["chats"] = [c for c in saved.get("chats") or [] if c.get("id") != current]
        saved["current"] = ""
        return saved, past_update(saved), export_file([], ""), "", VIEWER_EMPTY

    @_friendly
    def open_citation(request: str, refs: list):
        """Show the document of a clicked citation, whole, scrolled to its words."""
        try:
            asked = json.loads(request or "{}")
        except ValueError:
            return gr.skip(), gr.skip(), gr.skip(), gr.skip()
        if "refs" in asked:
            refs = [r for r in (parse_ref(str(h)) for h in (asked.get("refs") or [])[:50]) if r]
            current = asked.get("current", 0)
        else:
            current = asked.get("nav", 0)
        refs = [CitationRef(*r) if isinstance(r, (list, tuple)) else r for r in refs or []]
        if not refs or not isinstance(current, int) or not 0 <= current < len(refs):
            return gr.skip(), gr.skip(), gr.skip(), gr.skip()
        ref = refs[current]
        stored = [[r.marker, r.source, r.start, r.end, r.page] for r in refs]
        # Only a document in the index is shown or offered: the reference came from
        # the browser.
        document = assistant.catalog.info(ref.source)
        window = assistant.catalog.text_window(ref.source, ref.start - WINDOW_CHARS,
                                               ref.end + WINDOW_CHARS)
        if document is None or window is None or ref.end > window[2]:
            return (viewer_missing(ref.source), stored, gr.Tabs(selected="source"),
                    gr.update(visible=False, value=None))
        return (document_html(document, window, refs, current), stored,
                gr.Tabs(selected="source"), original_file(ref.source))

    def original_file(source: str):
        """The file to offer for download: one copy per version of it, however often its
        citations are opened (Gradio serves files from its own folders only)."""
        path = Path(source)
        try:
            stat = path.stat()
            if not path.is_file() or stat.st_size > MAX_DOWNLOAD_MB * 2**20:
                return gr.update(visible=False, value=None)
            version = f"{path.resolve()}\0{stat.st_mtime_ns}\0{stat.st_size}"
            folder = exports / hashlib.sha256(version.encode()).hexdigest()[:16]
            copy = folder / path.name
            if not copy.exists():
                folder.mkdir(exist_ok=True)
                partial = folder / f".{uuid.uuid4().hex}.partial"
                try:
                    shutil.copyfile(path, partial)
                    os.replace(partial, copy)  # whole, even with two users at once
                finally:
                    partial.unlink(missing_ok=True)
        except OSError:
            return gr.update(visible=False, value=None)
        return gr.update(visible=True, value=str(copy), label=f"Download {path.name}")

    def ask(question: str) -> dict:
        """Answer one question from the indexed documents, with citations."""
        try:
            answer = assistant.ask(question)
        except Exception as exc:
            raise _raise(exc) from None
        return answer.summary()

    def document_choices(documents: list[DocumentInfo]) -> list[tuple[str, str]]:
        return [(f"{d.title} ({d.name})", d.source) for d in documents]

    def fitting_examples(documents: list[DocumentInfo]) -> list[dict]:
        titles = {document.title for document in documents}
        return [{"text": q} for title, questions in EXAMPLES.items() if title in titles
                for q in questions]

    def count_line(count: int) -> str:
        if not count:
            return "No documents indexed yet: add some in the **Documents** tab."
        return f"{count:,} document{'s' if count != 1 else ''} indexed."

    @_friendly
    def refresh():
        """The Documents table, the remove choices, the count and the examples, from one
        listing of the documents."""
        documents = assistant.documents()
        return (gr.update(value=documents_table(documents)),
                gr.update(choices=document_choices(documents), value=None),
                count_line(len(documents)),
                gr.update(examples=fitting_examples(documents) or None))

    def indexed_sha256(path: Path) -> str | None:
        info = assistant.catalog.info(str(path.resolve()))
        return info.sha256 if info else None

    def index_files(files: list[str] | None, progress=gr.Progress()):
        if not files:
            raise gr.Error("Choose one or more files to index.")
        names = ", ".join(Path(f).name for f in files)
        if len(names) > 80:
            names = names[:77] + "…"
        progress(0, desc=f"Indexing {names}")
        try:
            staged = uploads_module.stage(files, uploads, settings.ui_max_upload_mb * 2**20)
            report = uploads_module.ingest(staged, lambda paths: assistant.ingest(
                paths, progress=lambda done, total: progress(
                    done / max(total, 1), desc=f"{names}: {done:,} of {total:,} chunks"),
                progress_bar=False), recorded=indexed_sha256)
        except Exception as exc:
            raise _raise(exc) from None
        parts = []
        if report is not None:
            parts.append(f"Added {len(report.added)}, updated {len(report.updated)}, "
                         f"unchanged {len(report.unchanged)}, skipped "
                         f"{len(report.skipped) + len(staged.skipped)} "
                         f"({report.chunks_written} chunks in {report.seconds:.1f} s).")
            parts += [f"Skipped {Path(s.path).name}: {s.reason}." for s in report.skipped]
        parts += [f"Skipped {reason}." for reason in staged.skipped]
        return (" ".join(parts), *refresh(), None)

    def ask_to_remove(source: str | None):
        if not source:
            raise gr.Error("Choose a document to remove.")
        return (gr.update(visible=True), f"Remove **{Path(source).name}** from the index? "
                "Its chunks are deleted; answers that cite it can no longer show it.")

    def remove_document(source: str | None):
        if not source:
            raise gr.Error("Choose a document to remove.")
        try:
            count = assistant.remove(source)
        except Exception as exc:
            raise _raise(exc) from None
        uploads_module.forget(source, uploads)
        return (f"Removed {Path(source).name} ({count} chunks).", *refresh(),
                gr.update(visible=False))

    documents = assistant.documents()
    # Gradio keeps a copy of every file it serves (each chat export, each download): a
    # server up for weeks would fill its disk. Copies older than a day go, hourly.
    with gr.Blocks(title="Ask your documents", delete_cache=(3600, 24 * 3600)) as app:
        saved = gr.BrowserState({"current": "", "chats": []}, storage_key="rag-chats",
                                secret=_secret(settings.index_dir))
        restore = gr.State("")
        refs = gr.State([])
        gr.Markdown("## Ask your documents\nAnswers come only from the indexed documents, "
                    "with markers that point to the exact words they rest on.")
        count = gr.Markdown(count_line(len(documents)), elem_id="rag-count")
        with gr.Row(equal_height=False):
            with gr.Column(scale=1, min_width=170, elem_id="rag-history"):
                new = gr.Button("New chat", size="sm", variant="secondary", elem_id="rag-new")
                past = gr.Radio([], label="Past chats", elem_id="rag-past")
                export = gr.DownloadButton("Export chat (.md)", size="sm", interactive=False,
                                           elem_id="rag-export")
            with gr.Column(scale=4):
                chat = gr.Chatbot(label="Chat", height=520, sanitize_html=True,
                                  latex_delimiters=[], buttons=[], elem_id="rag-chat",
                                  feedback_options=None, editable="user",
                                  examples=fitting_examples(documents) or None,
                                  placeholder="Ask a question about the documents.")
                question = gr.Textbox(placeholder="Ask a question about the documents…",
                                      show_label=False, submit_btn="Ask", stop_btn=False,
                                      elem_id="rag-question")
                timings = gr.Markdown(elem_classes=["rag-timings"], elem_id="rag-timings")
            with gr.Column(scale=3, elem_id="rag-side"):
                close = gr.Button("Close", size="sm", elem_id="rag-drawer-close")
                with gr.Tabs() as tabs:
                    with gr.Tab("Source", id="source"):
                        viewer = gr.HTML(VIEWER_EMPTY, elem_id="rag-viewer")
                        original = gr.DownloadButton("Download the original", size="sm",
                                                     visible=False, elem_id="rag-original")
                    with gr.Tab("Documents", id="documents"):
                        table = gr.Dataframe(documents_table(documents),
                                             headers=TABLE_HEADERS, interactive=False,
                                             elem_id="rag-documents", wrap=True,
                                             column_widths=["34%", "30%", "14%", "9%", "13%"])
                        upload = gr.File(label="Add documents (.txt .md .html .pdf)",
                                         file_count="multiple", file_types=UPLOAD_TYPES,
                                         elem_id="rag-upload")
                        status = gr.Markdown(elem_id="rag-upload-status")
                        with gr.Row():
                            chosen = gr.Dropdown(choices=document_choices(documents),
                                                 label="Document", scale=3,
                                                 elem_id="rag-remove-choice")
                            remove = gr.Button("Remove from index", variant="stop", scale=1,
                                               elem_id="rag-remove")
                        with gr.Group(visible=False, elem_id="rag-confirm") as confirm:
                            confirm_text = gr.Markdown()
                            with gr.Row():
                                yes = gr.Button("Remove", variant="stop", size="sm",
                                                elem_id="rag-remove-yes")
                                no = gr.Button("Cancel", size="sm", elem_id="rag-remove-no")
                    with gr.Tab("Settings", id="settings"):
                        info = "local: the bundled model; extractive: quotes the best " \
                               "sentence, no model."
                        if backend_hints:
                            info += " Not set up: " + "; ".join(backend_hints) + "."
                        backend = gr.Dropdown(backends, value=settings.backend, label="Backend",
                                              info=info, elem_id="rag-backend")
                        passages = gr.Slider(1, 10, value=settings.context_sentences or 4, step=1,
                                             label="Passages given to the model")
                        show_passages = gr.Checkbox(False, label="Show the passages the model read")
        opener = gr.Textbox(elem_id="rag-opener", elem_classes=["rag-hidden"], show_label=False,
                            container=False)

        # One queue for every answer, chat and /ask alike, sized for the backend.
        answering = {"concurrency_limit": settings.answer_concurrency,
                     "concurrency_id": "answer", "api_visibility": "private",
                     "show_progress": "hidden"}
        quick = {"queue": False, "api_visibility": "private", "show_progress": "hidden"}
        run = (respond, [chat, backend, passages, show_passages], [chat, timings, restore])
        done = (finish, [chat, saved, restore, question],
                [question, saved, past, export, restore])

        submitted = question.submit(take, [question, chat], [question, chat],
                                    validator=must_have_text, **quick)
        asked = submitted.success(*run, **answering)
        picked = chat.example_select(example, [chat], [question, chat], **quick)
        asked_example = picked.success(*run, **answering)
        retried = chat.retry(retry, [chat], [question, chat], **quick)
        asked_again = retried.success(*run, **answering)
        edited = chat.edit(edit, [chat], [question, chat], **quick)
        asked_edited = edited.success(*run, **answering)
        runs = [asked, asked_example, asked_again, asked_edited]
        for event in runs:
            event.then(*done, **quick)

        ready = (lambda: gr.update(submit_btn="Ask", stop_btn=False), None, question)
        # A cancelled answer may have one update still on its way to the page: once the
        # cancel is done, each of these settles the chat again, so that no "Writing…"
        # bubble is left behind.
        question.stop(lambda messages: (stopped(messages), gr.update(submit_btn="Ask",
                                                                     stop_btn=False)),
                      [chat], [chat, question], cancels=runs, **quick).then(
            stopped, [chat], [chat], **quick).then(*done, **quick)
        chat.undo(undo, [chat], [chat, question], **quick).then(*done, **quick)
        chat.clear(delete_chat, [saved], [saved, past, export, timings, viewer],
                   cancels=runs, **quick).then(lambda: [], None, chat, **quick).then(
            *ready, **quick)
        new.click(new_chat, [saved], [chat, saved, past, export, timings, viewer],
                  cancels=runs, **quick).then(lambda: [], None, chat, **quick).then(
            *ready, **quick)
        past.input(open_chat, [past, saved], [chat, saved, export, timings], cancels=runs,
                   **quick).then(stopped, [chat], [chat], **quick).then(*ready, **quick)
        opener.change(open_citation, [opener, refs], [viewer, refs, tabs, original],
                     **quick).then(None, None, None, js=SCROLL_TO_MARK)
        close.click(None, None, None, js=CLOSE_DRAWER)

        documents_outputs = [table, chosen, count, chat]
        upload.upload(index_files, upload, [status, *documents_outputs, upload],
                      api_visibility="private", concurrency_limit=1, concurrency_id="index",
                      show_progress_on=[status])
        remove.click(ask_to_remove, chosen, [confirm, confirm_text], **quick)
        yes.click(remove_document, chosen, [status, *documents_outputs, confirm],
                  api_visibility="private", show_progress_on=[status])
        no.click(lambda: gr.update(visible=False), None, confirm, **quick)
        app.load(refresh, None, documents_outputs, api_visibility="private").then(
            restore_chat, [saved], [chat, past, export], **quick)
        gr.api(ask, api_name="ask", concurrency_limit=settings.answer_concurrency,
               concurrency_id="answer")
    # Exports and download copies live as long as the app (Gradio serves its own copies).
    weakref.finalize(app, shutil.rmtree, exports, ignore_errors=True)
    return app


def _exit_quietly(signum: int, frame: object) -> None:
    """A stop request (SIGTERM), once uvicorn has stopped serving: the exit functions run
    (the finalizers that remove the temp folders), then the process ends with status 0,
    without tearing the interpreter down under a model thread still writing an answer
    (llama.cpp's can crash the process at that point)."""
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def launch(settings: Settings, host: str = "127.0.0.1", port: int = 7860,
           insecure_no_auth: bool = False) -> None:
    """Serve the chat UI (Gradio inside `ui.security.Guard`) until interrupted.

    Raises:
        ConfigError: `host` is not loopback and no login is set (unless
            `insecure_no_auth`).
    """
    import uvicorn
    from fastapi import FastAPI

    from rag.errors import ConfigError
    from ui.security import LOOPBACK, Guard, allowed_hosts

    if host not in LOOPBACK and not settings.ui_auth:
        if not insecure_no_auth:
            raise ConfigError(
                f"--host {host} lets other machines in, and there is no login: set "
                "RAG_UI_AUTH=user:password, or pass --insecure-no-auth if you really mean it")
        print(f"WARNING: serving on {host} without a login: anyone who can reach this "
              "machine can read and change the index.", file=sys.stderr, flush=True)
    assistant = Assistant(settings)
    # Load the models while the page opens, so the first answer does not wait for them.
    threading.Thread(target=assistant.warm_up, daemon=True, name="warm-up").start()
    blocks = build_app(assistant)
    blocks.queue(default_concurrency_limit=1, max_size=settings.ui_queue_size)
    auth = tuple(settings.ui_auth.split(":", 1)) if settings.ui_auth else None
    server = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    server = gr.mount_gradio_app(
        server, blocks, path="", server_name=host, server_port=port, auth=auth,
        max_file_size=f"{settings.ui_max_upload_mb}mb", css=CSS, head=HEAD,
        footer_links=["api"], show_error=True)
    hosts = allowed_hosts(host, settings.ui_allowed_hosts.split(","))
    shown = "[::1]" if host == "::1" else host
    print(f"Chat UI on http://{shown}:{port}  (Ctrl+C stops it)", flush=True)
    guarded = Guard(server, hosts, settings.ui_unread_per_client)
    if threading.current_thread() is threading.main_thread():
        # uvicorn stops gracefully on SIGTERM, then raises the signal again; its default
        # action would kill the process before the finalizers run (the exports folder
        # with chat downloads and copies of originals would stay in the temp folder).
        signal.signal(signal.SIGTERM, _exit_quietly)
    uvicorn.run(guarded, host=host, port=port, log_level="warning",
                timeout_graceful_shutdown=2)
