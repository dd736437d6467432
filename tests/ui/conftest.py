"""Shared by the browser tests: one `rag ui` server over the bundled article and one
Chromium for the whole tests/ui package (each loads a model: once is enough)."""

from __future__ import annotations

import contextlib
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import CORPUS
from tests.servers import free_port, wait_until_serving
from tests.ui.browser import CHROMIUM, CHROMIUM_FLAGS, RAG, open_page


@contextlib.contextmanager
def serve(home: Path, **variables: str):
    """`rag ui` on a free port over a fresh index of the bundled corpus, with extra
    environment `variables`; its log must hold no traceback, and stopping it (SIGTERM,
    as a service manager does) must leave none of its own files in the temp folder."""
    index_dir = home / "index"
    scratch = home / "tmp"
    scratch.mkdir()
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "RAG_UI_MAX_UPLOAD_MB": "1",
           "TMPDIR": str(scratch), **variables}
    subprocess.run([RAG, "ingest", str(CORPUS), "--index-dir", str(index_dir), "--quiet"],
                   check=True, env=env, capture_output=True)
    port = free_port()
    log = (home / "server.log").open("w")
    process = subprocess.Popen([RAG, "ui", "--index-dir", str(index_dir), "--port", str(port)],
                               stdout=log, stderr=subprocess.STDOUT, env=env, cwd=home)
    url = f"http://127.0.0.1:{port}/"
    wait_until_serving(url, process, log.name)
    yield {"url": url, "index_dir": index_dir, "log": Path(log.name)}
    process.terminate()
    assert process.wait(timeout=30) == 0
    log.close()
    assert "Traceback" not in Path(log.name).read_text(), "the server logged a traceback"
    assert not list(scratch.glob("rag-ui-*"))  # (Gradio's own cache, gradio/, may stay)


@pytest.fixture(scope="package")
def server(tmp_path_factory):
    """The chat UI with the bundled model, shared by the browser tests."""
    with serve(tmp_path_factory.mktemp("ui")) as served:
        yield served


@pytest.fixture(scope="package")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def page(server, browser):
    page = open_page(browser, server["url"])
    yield page
    page.context.close()


@pytest.fixture
def fresh_page(server, browser):
    page = open_page(browser, server["url"])
    yield page
    page.context.close()
