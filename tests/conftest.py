"""Shared fixtures: real Chroma in temporary folders, the real embedder (loaded once per
session), the bundled corpus, and a clean `RAG_*` environment for every test."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"
ARTICLE = CORPUS / "2022-02-10-pentagon-belarus-army-chief-call.txt"
SQUAD = ROOT.parent / "shared" / "squad-dev-13"

# Session fixtures are built before the autouse one below runs, so clear the
# developer's settings for the whole run too.
for _key in [k for k in os.environ if k.startswith("RAG_")]:
    del os.environ[_key]


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch):
    """No test sees the developer's RAG_* settings."""
    for key in list(os.environ):
        if key.startswith("RAG_"):
            monkeypatch.delenv(key)


@pytest.fixture(scope="session")
def embedder():
    from index.embedder import MiniLMEmbedder

    return MiniLMEmbedder()


@pytest.fixture(scope="session")
def corpus_index(tmp_path_factory, embedder):
    """The bundled corpus indexed once into a temporary folder (read-only for tests)."""
    from index import Index

    index = Index(tmp_path_factory.mktemp("corpus-index"), embedder=embedder)
    index.ingest([CORPUS], progress_bar=False)
    return index


@pytest.fixture(scope="session")
def corpus_settings(corpus_index):
    from rag import Settings

    return Settings(index_dir=corpus_index.directory)


OPENAI_MODEL_ALIAS = "qwen-local"


@pytest.fixture(scope="module")
def openai_server(tmp_path_factory):
    """The bundled model behind a real OpenAI-compatible server (`llama_cpp.server`),
    named `OPENAI_MODEL_ALIAS`; yields its base URL."""
    import subprocess
    import sys

    from rag import Settings
    from rag.models import bundled_model_path
    from tests.servers import free_port, wait_until_serving

    model = bundled_model_path(Settings().model_cache_dir)
    port = free_port()
    log = (tmp_path_factory.mktemp("server") / "server.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--model_alias",
         OPENAI_MODEL_ALIAS, "--host", "127.0.0.1", "--port", str(port), "--n_threads", "2",
         "--n_ctx", "4096", "--n_batch", "512", "--verbose", "False",
         # By default a new request interrupts the one being generated: with two people
         # asking at once, the first answer came back cut short, as "no answer".
         "--interrupt_requests", "False"],
        stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    wait_until_serving(f"{url}/models", server, log.name)
    yield url
    server.terminate()
    server.wait(timeout=30)
    log.close()
