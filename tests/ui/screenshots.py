"""The README's screenshots, taken from a running chat UI (not a test):

    make run        # in one shell
    python -m tests.ui.screenshots http://127.0.0.1:7860/

Each shot asks the README's question, opens its citation in the source viewer and
saves docs/screenshot.png, docs/screenshot-dark.png, docs/phone.png, docs/phone-dark.png.
"""

from __future__ import annotations

import argparse

from tests.conftest import ROOT
from tests.ui.browser import CHROMIUM, CHROMIUM_FLAGS, ask

QUESTION = "How many warships did Russia send to the Black Sea?"
SHOTS = {
    "screenshot.png": ({"width": 1400, "height": 900}, "light"),
    "screenshot-dark.png": ({"width": 1400, "height": 900}, "dark"),
    "phone.png": ({"width": 390, "height": 844}, "light"),
    "phone-dark.png": ({"width": 390, "height": 844}, "dark"),
}


def main() -> None:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="the running chat UI, e.g. http://127.0.0.1:7860/")
    url = parser.parse_args().url.rstrip("/") + "/"
    (ROOT / "docs").mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        for name, (viewport, theme) in SHOTS.items():
            context = browser.new_context(viewport=viewport, color_scheme=theme,
                                          device_scale_factor=1)
            page = context.new_page()
            page.goto(url + f"?__theme={theme}")
            page.wait_for_selector("#rag-question textarea")
            ask(page, QUESTION)
            page.locator("#rag-chat .rag-answer a.rag-cite").last.click()
            page.locator("#rag-viewer mark.rag-current").wait_for(timeout=10_000)
            page.wait_for_timeout(800)
            page.screenshot(path=str(ROOT / "docs" / name), full_page=viewport["width"] > 600)
            context.close()
            print("wrote", ROOT / "docs" / name)
        browser.close()


if __name__ == "__main__":
    main()
