"""The Gradio chat: `build_app(assistant)` returns the Blocks; `launch()` serves them.

The UI talks only to `Assistant`. Errors a user can fix (`RagError`) are shown as
they are; anything else is logged and shown as a short generic message.
"""

from __future__ import annotations

import logging
import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr  # noqa: E402

from rag.assistant import Assistant  # noqa: E402
from rag.config import Settings  # noqa: E402
from rag.errors import RagError  # noqa: E402
from rag.types import Answer  # noqa: E402
from ui.render import answer_markdown, sources_html, timings_line  # noqa: E402

log = logging.getLogger(__name__)

EXAMPLES = [
    "What are the exercises called?",
    "How many Russian troops will surge into Belarus?",
    "Why did the Pentagon call the Belarusian army chief?",
]


def _user_error(exc: Exception) -> gr.Error:
    if isinstance(exc, RagError):
        return gr.Error(str(exc))
    log.exception("unexpected error while answering")
    return gr.Error("Something went wrong while answering; the details are in the server log.")


def build_app(assistant: Assistant) -> gr.Blocks:
    """The chat UI over `assistant`."""

    def respond(message: str, history: list[dict]):
        history = list(history or [])
        turns = [(m["role"], m["content"]) for m in history if isinstance(m.get("content"), str)]
        history.append({"role": "user", "content": message})
        history.append({"role": "assistant", "content": ""})
        try:
            draft = ""
            for item in assistant.stream(message, turns):
                if isinstance(item, Answer):
                    history[-1]["content"] = answer_markdown(item)
                    yield history, sources_html(item), timings_line(item), ""
                else:
                    draft += item
                    history[-1]["content"] = draft
                    yield history, "", "", ""
        except Exception as exc:
            raise _user_error(exc) from None

    def ask(question: str) -> dict:
        """Answer one question; returns the answer text, citations and abstention."""
        try:
            answer = assistant.ask(question)
        except Exception as exc:
            raise _user_error(exc) from None
        return {
            "answer": answer.text,
            "abstained": answer.abstained,
            "citations": [{"marker": c.marker, "source": c.source, "title": c.title,
                           "start": c.start, "end": c.end, "quote": c.quote}
                          for c in answer.citations],
            "timings": answer.timings,
        }

    with gr.Blocks(title="Ask your documents") as app:
        gr.Markdown("## Ask your documents\nAnswers come only from the indexed documents, "
                    "with the exact words they rest on.")
        with gr.Row():
            with gr.Column(scale=3):
                chat = gr.Chatbot(label="Chat", height=460, sanitize_html=True)
                question = gr.Textbox(placeholder="Ask a question about the documents…",
                                      show_label=False, submit_btn=True)
                gr.Examples(EXAMPLES, inputs=question)
                timings = gr.Markdown(elem_classes=["rag-timings"])
            with gr.Column(scale=2):
                sources = gr.HTML(label="Sources")
        question.submit(respond, [question, chat], [chat, sources, timings, question],
                        api_visibility="private")
        gr.api(ask, api_name="ask")
    return app


def launch(settings: Settings, host: str = "127.0.0.1", port: int = 7860) -> None:
    assistant = Assistant(settings)
    app = build_app(assistant)
    auth = tuple(settings.ui_auth.split(":", 1)) if settings.ui_auth else None
    app.queue().launch(server_name=host, server_port=port, share=False, auth=auth,
                       max_file_size=f"{settings.ui_max_upload_mb}mb")
