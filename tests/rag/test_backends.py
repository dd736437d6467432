"""The openai backend against a real OpenAI-compatible server (llama_cpp.server serving
the bundled model on 127.0.0.1), and the ollama backend's configuration and errors
(no Ollama server can be installed here)."""

from __future__ import annotations

import pytest

from rag import Answer, Assistant, BackendError, Settings
from rag.llm import chat_model
from tests.conftest import OPENAI_MODEL_ALIAS
from tests.servers import free_port


def test_openai_backend_answers_with_citations_through_a_real_server(openai_server,
                                                                     corpus_settings):
    settings = Settings(index_dir=corpus_settings.index_dir, backend="openai",
                        openai_base_url=openai_server, openai_model=OPENAI_MODEL_ALIAS)
    items = list(Assistant(settings).stream(
        "How many Russian troops does the US estimate will surge into Belarus?"))
    answer = items[-1]
    assert isinstance(answer, Answer)
    assert len(items) > 2 and all(isinstance(i, str) for i in items[:-1])  # it streamed
    assert not answer.abstained, answer.draft
    assert "30,000" in answer.text
    assert any("30,000 Russian troops" in c.quote for c in answer.citations)


def test_openai_backend_unreachable_server_is_one_clear_error(corpus_settings):
    port = free_port()  # nothing listens there
    settings = Settings(index_dir=corpus_settings.index_dir, backend="openai",
                        openai_base_url=f"http://127.0.0.1:{port}/v1", request_timeout=5)
    with pytest.raises(BackendError, match=f"Cannot reach the OpenAI-compatible server at "
                                           f"http://127.0.0.1:{port}/v1"):
        Assistant(settings).ask("How many warships did Russia send?")


def test_ollama_backend_is_configured_from_settings(monkeypatch):
    monkeypatch.setenv("RAG_BACKEND", "ollama")
    monkeypatch.setenv("RAG_OLLAMA_BASE_URL", "http://127.0.0.1:11999")
    monkeypatch.setenv("RAG_OLLAMA_MODEL", "llama3.2:3b")
    model = chat_model(Settings())
    assert type(model).__name__ == "ChatOllama"
    assert model.base_url == "http://127.0.0.1:11999"
    assert model.model == "llama3.2:3b"
    assert model.temperature == 0.0


def test_ollama_backend_without_a_server_is_one_clear_error(corpus_settings):
    port = free_port()
    settings = Settings(index_dir=corpus_settings.index_dir, backend="ollama",
                        ollama_base_url=f"http://127.0.0.1:{port}", request_timeout=5)
    with pytest.raises(BackendError, match=f"Cannot reach Ollama at http://127.0.0.1:{port}: "
                                           "start it with `ollama serve`"):
        Assistant(settings).ask("How many warships did Russia send?")
