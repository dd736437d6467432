"""The chat UI, served for real (`rag ui`) over the indexed article with the real model,
driven by gradio_client and by Chromium through Playwright (the README's screenshots:
`python -m tests.ui.screenshots URL`).
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import CORPUS
from tests.servers import free_port, wait_until_serving
from tests.ui.browser import RAG, ask


def test_named_api_endpoint_answers_with_citations(server):
    from gradio_client import Client

    client = Client(server["url"], verbose=False)
    result = client.predict("How many warships did Russia send to the Black Sea?",
                            api_name="/ask")
    assert result["abstained"] is False
    assert 0.5 <= result["confidence"] <= 1.0
    assert "six" in result["answer"].lower()
    assert any("six warships" in c["quote"] for c in result["citations"])
    scores = [p["score"] for p in result["passages"]]
    assert scores and scores == sorted(scores, reverse=True)
    with pytest.raises(Exception, match="The question is empty"):
        client.predict("   ", api_name="/ask")


def test_chat_streams_an_answer_and_a_marker_opens_its_passage(page, tmp_path):
    ask(page, "How many warships did Russia send to the Black Sea?")
    answer = page.locator("#rag-chat .rag-answer").last
    assert re.search(r"\b(six|6)\b", answer.inner_text().lower())
    chance = page.locator("#rag-chat .rag-chance").last.inner_text()
    assert chance.startswith("Chance this answer is right: ") and chance.endswith("%")
    marker = answer.locator("a.rag-cite").first
    marker.wait_for()
    page.screenshot(path=str(tmp_path / "chat.png"), full_page=True)

    page.locator("#rag-viewer").evaluate("el => el.querySelector('.rag-viewer-item') && "
                                         "el.querySelector('.rag-viewer-item').remove()")
    marker.click()
    viewer = page.locator("#rag-viewer .rag-viewer-item mark").first
    viewer.wait_for(timeout=10_000)
    assert "six warships" in viewer.inner_text()
    assert "2022-02-10-pentagon-belarus-army-chief-call.txt" in \
        page.locator("#rag-viewer").inner_text()
    page.screenshot(path=str(tmp_path / "viewer.png"), full_page=True)


def _upload(page, path: Path) -> str:
    """Upload `path` in the Documents tab; returns the status line once indexing ends."""
    status = page.locator("#rag-upload-status")
    page.locator("#rag-upload input[type=file]").set_input_files(str(path))
    page.wait_for_function(
        "() => /Added \\d|Skipped/.test(document.querySelector('#rag-upload-status')?.innerText"
        " || '')", timeout=60_000)
    return status.inner_text()


def test_uploaded_document_can_be_asked_about(page, tmp_path):
    page.get_by_role("tab", name="Documents").click()
    notes = tmp_path / "lighthouse.md"
    notes.write_text("# Lighthouse log\n\nThe keeper of the Skerry Point lighthouse has a cat "
                     "named Biscuit. Biscuit sleeps on the stairs of the lamp room.\n")
    status = _upload(page, notes)
    assert "Added 1" in status
    assert "lighthouse.md" in page.locator("#rag-documents").inner_text()
    ask(page, "What is the name of the lighthouse keeper's cat?")
    answer = page.locator("#rag-chat .rag-answer").last
    assert "Biscuit" in answer.inner_text()
    page.screenshot(path=str(tmp_path / "upload.png"), full_page=True)


def _choose_backend(page, name: str) -> None:
    page.get_by_role("tab", name="Settings").click()
    box = page.get_by_label("Backend")
    box.click()
    box.fill(name)
    box.press("Enter")
    page.wait_for_function("name => document.querySelector('input[aria-label=\"Backend\"]')"
                           "?.value === name", arg=name, timeout=10_000)


def test_html_inside_a_document_shows_as_text(page, tmp_path):
    page.get_by_role("tab", name="Documents").click()
    risky = tmp_path / "badge-note.txt"
    risky.write_text("The visitor badge colour for the east gate is teal. "
                     "<script>window.__pwned = 1</script><b>bold claim</b>\n")
    status = _upload(page, risky)
    assert "Added 1" in status, status
    # What is tested is how a cited document is shown, not whether the model answers:
    # the extractive backend always quotes the best sentence, so there is a citation.
    _choose_backend(page, "extractive")
    try:
        ask(page, "What is the visitor badge colour for the east gate?")
    finally:
        _choose_backend(page, "local")
    assert "teal" in page.locator("#rag-chat .rag-answer").last.inner_text()
    message = page.locator("#rag-chat .message, #rag-chat [data-testid=bot]").last
    page.locator("#rag-chat a.rag-cite").last.click()
    page.wait_for_function(
        "() => document.querySelector('#rag-viewer').innerText.includes('badge-note.txt')",
        timeout=10_000)
    shown = page.locator("#rag-viewer").inner_text()
    assert "<script>window.__pwned = 1</script>" in shown
    assert page.evaluate("window.__pwned") is None
    assert page.locator("#rag-chat b", has_text="bold claim").count() == 0
    assert message.count() == 1
    page.screenshot(path=str(tmp_path / "escaped.png"), full_page=True)


def test_oversized_upload_is_refused_with_a_message(page, tmp_path):
    page.get_by_role("tab", name="Documents").click()
    big = tmp_path / "big.txt"
    big.write_text("All work and no play makes Jack a dull boy. " * 40_000)  # ~1.8 MB > 1 MB
    page.locator("#rag-upload input[type=file]").set_input_files(str(big))
    page.wait_for_function(
        "() => /exceed the maximum allowed size of 1(\\.0)? ?mb/i.test(document.body.innerText)",
        timeout=30_000)
    assert "big.txt" not in page.locator("#rag-documents").inner_text()


def test_an_unanswerable_question_says_so_and_shows_no_sources(page):
    ask(page, "What is the population of Ukraine?")
    message = page.locator("#rag-chat .message-content").last
    assert "The documents do not say" in message.inner_text()
    assert message.locator(".rag-source").count() == 0
    assert message.locator("a.rag-cite").count() == 0
    assert "Why:" in message.inner_text()
    # Folded under the decline: the closest passages, each opening its document.
    found = message.locator(".rag-found")
    assert found.locator("a.rag-open").count() == 3
    assert not found.locator("blockquote").first.is_visible()
    found.locator("summary").click()
    quoted = found.locator("blockquote").first.inner_text()
    found.locator("a.rag-open").first.click()
    current = page.locator("#rag-viewer mark.rag-current")
    current.wait_for(timeout=10_000)
    assert " ".join(current.inner_text().split())[:80] == " ".join(quoted.split())[:80]


def test_login_is_required_when_auth_is_set(tmp_path):
    from gradio_client import Client

    question = "How many warships did Russia send to the Black Sea?"
    index_dir = tmp_path / "index"
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "RAG_UI_AUTH": "reader:s3cret",
           "RAG_BACKEND": "extractive"}
    subprocess.run([RAG, "ingest", str(CORPUS), "--index-dir", str(index_dir), "--quiet"],
                   check=True, env=env, capture_output=True)
    port = free_port()
    with (tmp_path / "server.log").open("w") as log:
        process = subprocess.Popen([RAG, "ui", "--index-dir", str(index_dir), "--port",
                                    str(port)], stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            url = f"http://127.0.0.1:{port}/"
            wait_until_serving(url, process, log.name)
            with pytest.raises(Exception):
                Client(url, verbose=False).predict(question, api_name="/ask")
            client = Client(url, auth=("reader", "s3cret"), verbose=False)
            result = client.predict(question, api_name="/ask")
            assert "six warships" in result["answer"]
        finally:
            process.terminate()
            process.wait(timeout=30)
