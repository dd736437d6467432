"""The Gradio chat: `build_app(assistant)` returns the Blocks; `launch()` serves them.

The UI talks only to `Assistant`. Errors a user can fix (`RagError`) are shown as
they are; anything else is logged and shown as a short generic message. Clicking a
citation marker shows its passage in the source viewer; that is done in the browser
(`HEAD` below), from the sources section every answer carries.
"""

from __future__ import annotations

import html
import logging
import os
import sys
import threading
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr  # noqa: E402

from rag.assistant import Assistant  # noqa: E402
from rag.config import BACKENDS, Settings  # noqa: E402
from rag.errors import RagError  # noqa: E402
from rag.types import Answer  # noqa: E402
from ui import uploads as uploads_module  # noqa: E402
from ui.render import answer_html, documents_table, timings_line, viewer_html  # noqa: E402

log = logging.getLogger(__name__)

EXAMPLES = [
    "What are the exercises called?",
    "How many Russian troops does the US expect in Belarus?",
    "Why did the Pentagon call the Belarusian army chief?",
    "Who is the NATO Secretary General?",
]
UPLOAD_TYPES = [".txt", ".md", ".markdown", ".html", ".htm", ".pdf"]
TABLE_HEADERS = ["Title", "File", "Date", "Chunks", "Indexed"]

CSS = """
.rag-answer { margin: 0 0 .4em 0; }
.rag-actions { margin: .3em 0 0 0; font-size: .8em; }
a.rag-copy { color: #6b7280; text-decoration: none; }
.rag-chance { color: #6b7280; }
a.rag-cite { text-decoration: none; font-size: .8em; vertical-align: super; cursor: pointer;
             padding: 0 .1em; font-weight: 600; }
.rag-sources, .rag-passages { margin-top: .4em; font-size: .9em; }
.rag-source { margin: .4em 0; }
.rag-source blockquote, .rag-viewer-text { margin: .2em 0 0 0; padding-left: .6em;
             border-left: 3px solid #d0d7de; }
.rag-source-head code { font-size: .85em; }
mark { background: #fff3b0; padding: 0 .1em; }
.rag-abstain { font-style: italic; }
.rag-timings { color: #6b7280; font-size: .85em; }
#rag-viewer { min-height: 8em; }
.rag-viewer-empty { color: #6b7280; }
"""

# Markers are links inside chat messages; a click copies the matching source card of
# the same message into the viewer. (Scripts inside messages never run: this does.)
HEAD = """<script>
document.addEventListener("click", (event) => {
  const copy = event.target.closest("a.rag-copy");
  if (copy) {
    event.preventDefault();
    const message = copy.closest(".message-content") || copy.parentElement.parentElement;
    const answer = message.querySelector(".rag-answer");
    const sources = [...message.querySelectorAll(".rag-source")].map((s) => s.innerText);
    const text = (answer ? answer.innerText : "") +
      (sources.length ? "\\n\\nSources:\\n" + sources.join("\\n") : "");
    navigator.clipboard.writeText(text).then(() => { copy.textContent = "Copied"; });
    return;
  }
  const link = event.target.closest("a.rag-cite");
  if (!link) return;
  event.preventDefault();
  const n = (link.getAttribute("href") || "").replace("#rag-src-", "");
  let scope = link.parentElement;
  let card = null;
  while (scope && !card) {
    card = scope.querySelector(`.rag-source.rag-src-${n}`);
    scope = scope.parentElement;
  }
  const viewer = document.querySelector("#rag-viewer .rag-viewer-body")
    || document.querySelector("#rag-viewer");
  if (!card || !viewer) return;
  viewer.innerHTML = "";
  const item = document.createElement("div");
  item.className = "rag-viewer-item";
  item.innerHTML = card.innerHTML;
  viewer.appendChild(item);
  viewer.scrollIntoView({block: "nearest"});
});
</script>"""


def _user_error(exc: Exception) -> gr.Error:
    if isinstance(exc, RagError):
        return gr.Error(str(exc), print_exception=False)
    log.exception("unexpected error in the UI")
    return gr.Error("Something went wrong; the details are in the server log.",
                    print_exception=False)


def build_app(assistant: Assistant) -> gr.Blocks:
    """The chat UI over `assistant`."""
    settings = assistant.settings
    uploads = settings.index_dir / "uploads"

    def document_texts(answer: Answer) -> dict[str, str]:
        texts = {}
        for citation in answer.citations:
            if citation.source not in texts:
                document = assistant.catalog.document(citation.source)
                texts[citation.source] = document.text if document else ""
        return texts

    def respond(message: str, history: list[dict], turns: list[tuple[str, str]], backend: str,
                passages: int, show_passages: bool):
        """Stream the draft into the chat, then replace it with the checked answer.
        `turns` holds the conversation as plain text, for follow-up questions."""
        history = list(history or [])
        history.append({"role": "user", "content": html.escape(message)})
        history.append({"role": "assistant", "content": "…"})
        yield history, turns, gr.skip(), "", ""
        draft = ""
        try:
            for item in assistant.stream(message, turns, backend=backend, passages=int(passages)):
                if isinstance(item, Answer):
                    texts = document_texts(item)
                    history[-1] = {"role": "assistant",
                                   "content": answer_html(item, texts, show_passages)}
                    turns = [*turns, ("user", message), ("assistant", item.text)]
                    yield history, turns, viewer_html(item, texts), timings_line(item), ""
                else:
                    draft += item
                    history[-1] = {"role": "assistant", "content": html.escape(draft)}
                    yield history, turns, gr.skip(), "", ""
        except Exception as exc:
            raise _user_error(exc) from None

    def ask(question: str) -> dict:
        """Answer one question from the indexed documents, with citations."""
        try:
            answer = assistant.ask(question)
        except Exception as exc:
            raise _user_error(exc) from None
        return {
            "answer": answer.text,
            "abstained": answer.abstained,
            "abstain_reason": answer.abstain_reason,
            "confidence": round(answer.confidence, 3),
            "citations": [{"marker": c.marker, "source": c.source, "title": c.title,
                           "start": c.start, "end": c.end, "quote": c.quote}
                          for c in answer.citations],
            "timings": answer.timings,
        }

    def document_choices() -> list[tuple[str, str]]:
        return [(f"{d.title} ({d.name})", d.source) for d in assistant.documents()]

    def refresh():
        return (gr.update(value=documents_table(assistant.documents())),
                gr.update(choices=document_choices(), value=None))

    def index_files(files: list[str] | None, progress=gr.Progress()):
        if not files:
            raise gr.Error("Choose one or more files to index.")
        progress(0, desc="Indexing…")
        try:
            staged = uploads_module.stage(files, uploads, settings.ui_max_upload_mb * 2**20)
            report = uploads_module.ingest(staged, lambda paths: assistant.ingest(
                paths, progress=lambda done, total: progress(
                    done / max(total, 1), desc=f"Embedding {done}/{total} chunks"),
                progress_bar=False))
        except Exception as exc:
            raise _user_error(exc) from None
        parts = []
        if report is not None:
            parts.append(f"Added {len(report.added)}, updated {len(report.updated)}, "
                         f"unchanged {len(report.unchanged)}, skipped "
                         f"{len(report.skipped) + len(staged.skipped)} "
                         f"({report.chunks_written} chunks in {report.seconds:.1f} s).")
            parts += [f"Skipped {Path(s.path).name}: {s.reason}." for s in report.skipped]
        parts += [f"Skipped {reason}." for reason in staged.skipped]
        table, choices = refresh()
        return " ".join(parts), table, choices, None

    def remove_document(source: str | None):
        if not source:
            raise gr.Error("Choose a document to remove.")
        try:
            count = assistant.remove(source)
        except Exception as exc:
            raise _user_error(exc) from None
        uploads_module.forget(source, uploads)
        table, choices = refresh()
        return f"Removed {Path(source).name} ({count} chunks).", table, choices

    with gr.Blocks(title="Ask your documents") as app:
        turns = gr.State([])
        gr.Markdown("## Ask your documents\nAnswers come only from the indexed documents, "
                    "with markers that point to the exact words they rest on.")
        with gr.Row(equal_height=False):
            with gr.Column(scale=3):
                chat = gr.Chatbot(label="Chat", height=520, sanitize_html=True,
                                  latex_delimiters=[], buttons=[],
                                  elem_id="rag-chat", feedback_options=None,
                                  placeholder="Ask a question about the documents. "
                                              "Try an example below.")
                question = gr.Textbox(placeholder="Ask a question about the documents…",
                                      show_label=False, submit_btn="Ask", elem_id="rag-question")
                with gr.Row():
                    gr.Examples(EXAMPLES, inputs=question, label="Examples")
                with gr.Row():
                    timings = gr.Markdown(elem_classes=["rag-timings"], elem_id="rag-timings")
                    clear = gr.Button("Clear conversation", size="sm", variant="secondary",
                                      scale=0)
            with gr.Column(scale=2):
                with gr.Tab("Source"):
                    viewer = gr.HTML(viewer_html(None, {}), elem_id="rag-viewer",
                                     elem_classes=["rag-viewer-body"])
                with gr.Tab("Documents"):
                    table = gr.Dataframe(documents_table(assistant.documents()),
                                         headers=TABLE_HEADERS, interactive=False,
                                         elem_id="rag-documents", wrap=True)
                    upload = gr.File(label="Add documents (.txt .md .html .pdf)",
                                     file_count="multiple", file_types=UPLOAD_TYPES,
                                     elem_id="rag-upload")
                    status = gr.Markdown(elem_id="rag-upload-status")
                    with gr.Row():
                        chosen = gr.Dropdown(choices=document_choices(), label="Document",
                                             scale=3, elem_id="rag-remove-choice")
                        remove = gr.Button("Remove from index", variant="stop", scale=1)
                with gr.Tab("Settings"):
                    backend = gr.Dropdown(list(BACKENDS), value=settings.backend,
                                          label="Backend",
                                          info="local: the bundled model; extractive: quote "
                                               "the best sentence, no model")
                    passages = gr.Slider(1, 10, value=settings.context_sentences or 4, step=1,
                                         label="Passages given to the model")
                    show_passages = gr.Checkbox(False, label="Show the passages the model read")

        # One queue for every answer, chat and /ask alike, sized for the backend.
        answering = {"concurrency_limit": settings.answer_concurrency,
                     "concurrency_id": "answer"}
        question.submit(respond, [question, chat, turns, backend, passages, show_passages],
                        [chat, turns, viewer, timings, question], api_visibility="private",
                        **answering)
        clear.click(lambda: ([], [], viewer_html(None, {}), ""), None,
                    [chat, turns, viewer, timings], api_visibility="private")
        upload.upload(index_files, upload, [status, table, chosen, upload],
                      api_visibility="private", concurrency_limit=1, concurrency_id="index")
        remove.click(remove_document, chosen, [status, table, chosen], api_visibility="private")
        app.load(refresh, None, [table, chosen], api_visibility="private")
        gr.api(ask, api_name="ask", **answering)
    return app


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
    uvicorn.run(guarded, host=host, port=port, log_level="warning",
                timeout_graceful_shutdown=2)
