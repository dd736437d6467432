"""The chat's habits, in Chromium against the served UI (fixtures in conftest.py):
examples that ask, an empty question
that adds nothing, Stop, chats kept across reloads, the document viewer from any tab,
readable highlights in the dark theme, follow-up questions."""

from __future__ import annotations

import re

import pytest

from tests.servers import free_port
from tests.ui.browser import ANSWER_TIMEOUT_MS, ask, open_page
from tests.ui.conftest import serve

ANSWERS = "#rag-chat .rag-answer"


def _contrast(page, selector: str) -> float:
    """WCAG contrast ratio of the text colour against the background of `selector`."""
    return page.locator(selector).first.evaluate("""el => {
      const rgb = (c) => c.match(/[\\d.]+/g).slice(0, 3).map(Number);
      const lum = ([r, g, b]) => {
        const f = (v) => {
          v /= 255;
          return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
        };
        return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
      };
      const style = getComputedStyle(el);
      const a = lum(rgb(style.color)), b = lum(rgb(style.backgroundColor));
      return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    }""")


def test_clicking_an_example_asks_it(fresh_page):
    page = fresh_page
    example = page.locator("#rag-chat button", has_text="How many Russian troops")
    example.click()
    page.wait_for_selector(ANSWERS, timeout=ANSWER_TIMEOUT_MS)
    chat = page.locator("#rag-chat").inner_text()
    assert "How many Russian troops does the US expect in Belarus?" in chat
    assert "30,000" in page.locator(ANSWERS).last.inner_text()
    # Screen readers get the words, not the message's HTML.
    page.wait_for_timeout(300)
    labels = page.locator("#rag-chat [aria-label]").evaluate_all(
        "els => els.map(e => e.getAttribute('aria-label'))")
    assert any(label.startswith("Answer: ") and "30,000" in label for label in labels), labels
    assert not any("<" in label for label in labels), labels


def test_an_empty_question_adds_nothing(fresh_page):
    page = fresh_page
    box = page.locator("#rag-question textarea")
    for text in ("", "   ", "\t"):
        box.fill(text)
        box.press("Enter")
        page.locator("#rag-question [data-testid=submit-button]").click()
    page.wait_for_timeout(1500)
    assert page.locator("#rag-chat .message").count() == 0
    assert page.locator("#rag-chat .rag-step").count() == 0
    assert box.get_attribute("placeholder") == "Type a question first."


def _start_answering(page):
    """Send a question and return the box once its answer is being made."""
    box = page.locator("#rag-question textarea")
    box.fill("Why did the Pentagon call the Belarusian army chief?")
    box.press("Enter")
    page.wait_for_selector("#rag-chat .rag-step", timeout=10_000)
    return box


def test_stop_ends_the_answer_and_the_next_question_works(fresh_page):
    page = fresh_page
    box = _start_answering(page)
    # A second question while the first is answered is refused out loud, and kept.
    box.fill("How many Russian troops does the US expect in Belarus?")
    box.press("Enter")
    page.wait_for_function(
        "() => document.body.innerText.includes('An answer is still being written')",
        timeout=10_000)
    assert box.input_value() == "How many Russian troops does the US expect in Belarus?"
    box.press("Escape")
    page.wait_for_selector("#rag-chat .rag-stopped", timeout=10_000)
    assert page.locator("#rag-chat .rag-step").count() == 0
    page.wait_for_selector("#rag-question [data-testid=stop-button]", state="detached",
                           timeout=5_000)
    page.wait_for_timeout(3000)  # nothing more streams into the stopped answer
    assert page.locator(ANSWERS).count() == 0
    assert box.input_value() == "How many Russian troops does the US expect in Belarus?"
    box.press("Enter")
    page.wait_for_selector(ANSWERS, timeout=ANSWER_TIMEOUT_MS)
    assert "30,000" in page.locator(ANSWERS).last.inner_text()


def test_reload_keeps_the_chat_and_the_trash_forgets_it(fresh_page):
    page = fresh_page
    ask(page, "How many warships did Russia send to the Black Sea?")
    answer = page.locator(ANSWERS).last.inner_text()
    # saved in the browser just after the answer lands
    page.wait_for_function("() => document.querySelector('#rag-past')?.innerText"
                           ".includes('How many warships did Russia')", timeout=15_000)
    page.reload()
    page.wait_for_function("text => document.querySelector('#rag-chat')?.innerText.includes(text)",
                           arg=answer[:40], timeout=15_000)
    assert "How many warships did Russia" in page.locator("#rag-past").inner_text()
    # Export: the chat as Markdown with its sources.
    with page.expect_download() as download:
        page.locator("#rag-export").click()
    exported = open(download.value.path(), encoding="utf-8").read()
    assert "**Question:** How many warships did Russia send to the Black Sea?" in exported
    assert "> " in exported and "2022-02-10-pentagon-belarus-army-chief-call.txt" in exported
    # The chat's trash empties what is shown and what follow-ups read, and the list.
    page.locator("#rag-chat button[aria-label='Clear']").click()
    page.wait_for_timeout(1000)
    assert page.locator("#rag-chat .message").count() == 0
    assert "How many warships did Russia" not in page.locator("#rag-past").inner_text()
    page.reload()
    page.wait_for_timeout(2000)
    assert page.locator("#rag-chat .message").count() == 0


def test_a_marker_clicked_from_the_settings_tab_shows_the_whole_document(fresh_page):
    page = fresh_page
    ask(page, "How many warships did Russia send to the Black Sea?")
    page.get_by_role("tab", name="Settings").click()
    page.locator(f"{ANSWERS} a.rag-cite").last.click()
    current = page.locator("#rag-viewer mark.rag-current")
    current.wait_for(timeout=10_000)
    assert page.get_by_role("tab", name="Source").get_attribute("aria-selected") == "true"
    document = page.locator("#rag-viewer .rag-viewer-doc")
    text = document.inner_text()
    # The whole article: its first words and its last, not one paragraph.
    assert text.lstrip().startswith("date 2022-02-10")
    assert "Russia and Belarus on Thursday launched" in text
    assert len(text) > 3000
    assert "six warships" in current.inner_text()
    page.wait_for_timeout(500)
    box, mark = document.bounding_box(), current.bounding_box()
    assert box["y"] <= mark["y"] and mark["y"] + mark["height"] <= box["y"] + box["height"]
    assert page.locator("#rag-original").is_visible()


def test_on_a_phone_the_viewer_opens_over_the_chat(server, browser):
    page = open_page(browser, server["url"], viewport={"width": 390, "height": 844},
                     is_mobile=True, has_touch=True)
    try:
        ask(page, "How many warships did Russia send to the Black Sea?")
        page.locator(f"{ANSWERS} a.rag-cite").last.tap()
        current = page.locator("#rag-viewer mark.rag-current")
        current.wait_for(timeout=10_000)
        page.wait_for_timeout(500)
        side = page.locator("#rag-side")
        assert side.evaluate("el => getComputedStyle(el).position") == "fixed"
        box = current.bounding_box()  # in the screen, where the user looks
        assert 0 <= box["y"] and box["y"] + box["height"] <= 844
        assert 0 <= box["x"] and box["x"] + box["width"] <= 390
        page.locator("#rag-drawer-close").tap()
        page.wait_for_function("() => getComputedStyle(document.querySelector('#rag-side'))"
                               ".position !== 'fixed'", timeout=5_000)
    finally:
        page.context.close()


def test_highlights_are_readable_in_the_dark_theme(server, browser):
    page = open_page(browser, server["url"] + "?__theme=dark", color_scheme="dark")
    try:
        assert page.evaluate("document.body.classList.contains('dark')")
        ask(page, "How many warships did Russia send to the Black Sea?")
        assert _contrast(page, "#rag-chat .rag-source mark") >= 4.5
        page.locator(f"{ANSWERS} a.rag-cite").last.click()
        page.locator("#rag-viewer mark.rag-current").wait_for(timeout=10_000)
        assert _contrast(page, "#rag-viewer mark.rag-current") >= 4.5
    finally:
        page.context.close()


@pytest.mark.xfail(strict=True, reason="known failure (issue 11): the rewrite carries 'in "
                   "Belarus' over ('How many warships does the US expect in Belarus?'), the "
                   "draft says six warships in Belarus, and the checks decline it")
def test_a_follow_up_question_answers_from_the_conversation(fresh_page):
    page = fresh_page
    ask(page, "How many Russian troops does the US expect in Belarus?")
    ask(page, "And how many warships?")
    last = page.locator("#rag-chat .message-content, #rag-chat .message").last.inner_text()
    assert re.search(r"\b(six|6)\b", last.lower()), last


def test_remove_asks_first(page):
    page.get_by_role("tab", name="Documents").click()
    choice = page.locator("#rag-remove-choice input")
    choice.click()
    page.get_by_role("option").first.click()
    page.locator("#rag-remove").click()
    yes = page.locator("#rag-remove-yes")
    yes.wait_for(timeout=5_000)
    assert "from the index?" in page.locator("#rag-confirm").first.inner_text()
    page.locator("#rag-remove-no").click()
    yes.wait_for(state="hidden", timeout=5_000)
    assert "pentagon-belarus" in page.locator("#rag-documents").inner_text()


def test_a_forged_citation_link_shows_no_file_outside_the_index(fresh_page):
    page = fresh_page
    page.evaluate("""() => {
      const box = document.querySelector('#rag-opener textarea, #rag-opener input');
      box.value = JSON.stringify({refs: ['#rag-open:1:0:10:0:%2Fetc%2Fpasswd'], current: 0,
                                  nonce: 1});
      box.dispatchEvent(new Event('input', {bubbles: true}));
    }""")
    page.wait_for_function(
        "() => document.querySelector('#rag-viewer').innerText.includes('no longer in the index')",
        timeout=10_000)
    assert "root:" not in page.locator("#rag-viewer").inner_text()
    assert not page.locator("#rag-original").is_visible()


def test_clearing_the_chat_stops_a_running_answer(fresh_page):
    page = fresh_page
    _start_answering(page)
    page.locator("#rag-chat button[aria-label='Clear']").click()
    page.wait_for_timeout(4000)  # long enough for an answer to have streamed on
    assert page.locator("#rag-chat .message").count() == 0, page.locator("#rag-chat").inner_text()
    assert page.locator("#rag-question [data-testid=stop-button]").count() == 0


def test_an_error_puts_the_question_back_and_leaves_nothing_in_the_chat(browser,
                                                                        tmp_path):
    nowhere = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    with serve(tmp_path, RAG_BACKEND="openai", RAG_OPENAI_BASE_URL=nowhere,
               RAG_REQUEST_TIMEOUT="5") as served:
        page = open_page(browser, served["url"])
        try:
            box = page.locator("#rag-question textarea")
            box.fill("How many warships did Russia send to the Black Sea?")
            box.press("Enter")
            page.wait_for_function(
                "() => document.body.innerText.includes('Cannot reach the OpenAI-compatible "
                "server')", timeout=60_000)
            page.wait_for_function(
                "() => document.querySelector('#rag-question textarea').value.length > 0",
                timeout=10_000)
            assert box.input_value() == "How many warships did Russia send to the Black Sea?"
            assert page.locator("#rag-chat .message").count() == 0
            assert page.locator("#rag-question [data-testid=stop-button]").count() == 0
        finally:
            page.context.close()
