"""Driving the served chat UI from Chromium: constants and helpers for the browser tests."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run", "--disable-sync"]
ANSWER_TIMEOUT_MS = 180_000
RAG = str(Path(sys.executable).parent / "rag")  # the console script, as a user runs it


def open_page(browser, url: str, **options):
    """A page in a browser context of its own (its own saved chats)."""
    options = {"viewport": {"width": 1400, "height": 1000}, **options}
    page = browser.new_context(**options).new_page()
    page.goto(url)
    page.wait_for_selector("#rag-question textarea")
    page.wait_for_timeout(500)  # the saved chat is restored just after the page loads
    return page


def ask(page, question: str) -> None:
    """Type `question`, send it, and wait until its answer (or decline) is in the chat."""
    answers_before = page.locator("#rag-chat .rag-answer, #rag-chat .rag-abstain").count()
    box = page.locator("#rag-question textarea")
    box.fill(question)
    box.press("Enter")
    page.wait_for_function(
        "n => document.querySelectorAll('#rag-chat .rag-answer, #rag-chat .rag-abstain')"
        ".length > n",
        arg=answers_before, timeout=ANSWER_TIMEOUT_MS)
