"""The answer queue: the chat and `/ask` share one, sized for the backend; and which
backends the UI offers; the files the app keeps."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from rag import Assistant, Settings
from ui.app import build_app


def _answering(app) -> list:
    return [fn for fn in app.fns.values() if fn.concurrency_id == "answer"]


@pytest.mark.parametrize(("backend", "limit"), [("local", 2), ("openai", 8)])
def test_chat_and_ask_share_one_queue_sized_for_the_backend(tmp_path, backend, limit):
    app = build_app(Assistant(Settings(index_dir=tmp_path / "index", backend=backend)))
    answering = _answering(app)
    assert {fn.api_name for fn in answering} >= {"ask"}
    # /ask, and the chat's answer to a typed question, an example, a retry and an edit
    assert sorted(fn.fn.__name__ for fn in answering) == ["ask"] + ["respond"] * 4
    assert {fn.concurrency_limit for fn in answering} == {limit}


def test_the_limit_can_be_set(tmp_path):
    app = build_app(Assistant(Settings(index_dir=tmp_path / "index", ui_concurrency=5)))
    assert {fn.concurrency_limit for fn in _answering(app)} == {5}


def test_the_apps_export_folder_goes_when_the_process_ends(tmp_path):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    script = ("import sys\n"
              "from rag import Assistant, Settings\n"
              "from ui.app import build_app\n"
              "build_app(Assistant(Settings(index_dir=sys.argv[1])))\n"
              "import os; print(os.listdir(os.environ['TMPDIR']))\n")
    made = subprocess.run([sys.executable, "-c", script, str(tmp_path / "index")],
                          env={**os.environ, "TMPDIR": str(scratch)}, capture_output=True,
                          text=True, check=True, timeout=120)
    assert "rag-ui-" in made.stdout
    assert not list(scratch.glob("rag-ui-*"))  # (Gradio's own cache, gradio/, stays)


def test_only_backends_that_are_set_up_are_offered(tmp_path):
    from ui.app import ready_backends

    ready, hints = ready_backends(Settings(index_dir=tmp_path / "index"))
    assert ready == ["local", "extractive"]
    assert any("RAG_OPENAI_BASE_URL" in hint for hint in hints)
    assert any("RAG_OLLAMA_BASE_URL" in hint for hint in hints)
    ready, hints = ready_backends(Settings(index_dir=tmp_path / "index",
                                           openai_base_url="http://127.0.0.1:9/v1"))
    assert ready == ["local", "extractive", "openai"]
    assert ready_backends(Settings(index_dir=tmp_path / "index", backend="ollama"))[0] == \
        ["local", "extractive", "ollama"]


def test_opening_citations_copies_the_original_once_per_version(corpus_settings, tmp_path,
                                                                monkeypatch):
    import json

    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    assistant = Assistant(corpus_settings)
    app = build_app(assistant)
    open_citation = next(fn.fn for fn in app.fns.values()
                         if fn.fn is not None and fn.fn.__name__ == "open_citation")
    source = next(d.source for d in assistant.documents())
    refs = [[1, source, 0, 40, 0]]

    def offered() -> str:
        return open_citation(json.dumps({"nav": 0}), refs)[3]["value"]

    first = offered()
    assert Path(first).read_bytes() == Path(source).read_bytes()
    assert offered() == offered() == first  # opened three times, copied once
    assert len(list(scratch.glob("rag-ui-*/*/*"))) == 1


def test_an_error_after_the_answer_leaves_nothing_stuck_and_no_raw_message(corpus_settings,
                                                                           monkeypatch):
    """The catalog failing while the answer's excerpts are read (a Chroma server gone
    away): the question goes back to the box, the chat is as before, one plain line."""
    import gradio as gr

    from index.store import StoreError
    from ui.app import _asking

    assistant = Assistant(corpus_settings)
    app = build_app(assistant)
    handlers = {fn.fn.__name__: fn.fn for fn in app.fns.values() if fn.fn is not None}

    def gone(*args, **kwargs):
        raise StoreError("HTTPConnectionPool(host='index-host', port=8000): Max retries")

    monkeypatch.setattr(assistant.catalog, "text_window", gone)
    question = "How many warships did Russia send to the Black Sea?"
    warned = []
    monkeypatch.setattr(gr, "Warning", lambda text, *a, **k: warned.append(text))
    *_, last = handlers["respond"](_asking([], question, 1), "extractive", 6, False)
    assert last == ([], "", question)
    assert warned == ["Something went wrong; the details are in the server log."]
    with pytest.raises(gr.Error) as raised:
        handlers["open_citation"]('{"nav": 0}', [[1, "/any/source.txt", 0, 10, 0]])
    assert "HTTPConnectionPool" not in str(raised.value)
