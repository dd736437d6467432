"""Does the UI stay responsive while it ingests? `python -m bench.responsive`.

Starts `rag ui` on a fresh index, uploads files through the page in Chromium (a 1 MB
run of dots and about 1 MB of real text from the SQuAD-dev-13 articles), and fetches
`/config` every 0.2 s from another client until the upload reports back. Prints the
median and worst `/config` time during the ingest and writes bench/out/responsive.json.
The target: every `/config` within 1 s.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SQUAD = ROOT.parent / "shared" / "squad-dev-13" / "corpus"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--text-mb", type=float, default=1.0, help="real text to upload")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "responsive.json")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    from tests.servers import free_port, wait_until_serving
    from tests.ui.test_app import CHROMIUM, CHROMIUM_FLAGS, RAG

    with tempfile.TemporaryDirectory() as scratch:
        home = Path(scratch)
        dots = home / "dots.txt"
        dots.write_text("." * 1_000_000)
        text = home / "articles.txt"
        corpus = "\n\n".join(p.read_text() for p in sorted(SQUAD.glob("*.txt")))
        size = int(args.text_mb * 1_000_000)
        text.write_text((corpus * (size // len(corpus) + 1))[:size])

        port = free_port()
        env = {**os.environ, "RAG_BACKEND": "extractive", "RAG_INDEX_DIR": str(home / "index"),
               "GRADIO_ANALYTICS_ENABLED": "False"}
        log = (home / "server.log").open("w")
        server = subprocess.Popen([RAG, "ui", "--port", str(port)], stdout=log,
                                  stderr=subprocess.STDOUT, env=env, cwd=home)
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until_serving(url + "/", server, log.name)
            times: list[float] = []
            done = threading.Event()

            def poll() -> None:
                while not done.is_set():
                    start = time.perf_counter()
                    with urllib.request.urlopen(url + "/config", timeout=60) as response:
                        response.read()
                    times.append(time.perf_counter() - start)
                    time.sleep(0.2)

            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM,
                                                     args=CHROMIUM_FLAGS)
                page = browser.new_page()
                page.goto(url)
                page.get_by_role("tab", name="Documents").click()
                poller = threading.Thread(target=poll, daemon=True)
                started = time.perf_counter()
                poller.start()
                page.locator("#rag-upload input[type=file]").set_input_files(
                    [str(dots), str(text)])
                page.wait_for_function(
                    "() => (document.querySelector('#rag-upload-status')?.innerText || '')"
                    ".includes('Added')", timeout=900_000)
                ingest_s = time.perf_counter() - started
                status = page.locator("#rag-upload-status").inner_text()
                done.set()
                poller.join()
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=30)
            log.close()

    result = {"date": time.strftime("%Y-%m-%d %H:%M"), "upload_and_ingest_s": round(ingest_s, 1),
              "config_requests": len(times),
              "config_median_s": round(statistics.median(times), 3),
              "config_max_s": round(max(times), 3), "status": status}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))
    sys.exit(0 if result["config_max_s"] <= 1.0 else 1)


if __name__ == "__main__":
    main()
