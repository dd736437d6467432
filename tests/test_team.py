"""The team set-up from the README, for real: a Chroma server holds the index, a model
server (`python -m llama_cpp.server` with the bundled model) writes the answers, and
`rag ui` with a login serves two people asking at once; a CLI process on the same
Chroma server sees what the UI's process sees."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

from tests.conftest import CORPUS, OPENAI_MODEL_ALIAS, ROOT
from tests.index.test_chroma_server import chroma_url  # noqa: F401 - fixture
from tests.servers import free_port, wait_until_serving
from tests.ui.test_app import RAG


def test_two_people_ask_at_once_through_the_shared_set_up(chroma_url, openai_server,  # noqa: F811
                                                          tmp_path):
    from gradio_client import Client

    env = {**os.environ, "RAG_CHROMA_URL": chroma_url, "RAG_BACKEND": "openai",
           "RAG_OPENAI_BASE_URL": openai_server, "RAG_OPENAI_MODEL": OPENAI_MODEL_ALIAS,
           "RAG_UI_AUTH": "team:correct-horse", "GRADIO_ANALYTICS_ENABLED": "False"}
    ingest = subprocess.run([sys.executable, "-m", "rag.cli", "ingest", "--quiet", str(CORPUS),
                             "--index-dir", str(tmp_path / "cli")], env=env, cwd=ROOT,
                            capture_output=True, text=True, timeout=600)
    assert ingest.returncode == 0, ingest.stderr

    port = free_port()
    with (tmp_path / "ui.log").open("w") as log:
        ui = subprocess.Popen([RAG, "ui", "--port", str(port), "--index-dir",
                               str(tmp_path / "ui")], stdout=log, stderr=subprocess.STDOUT,
                              env=env)
    try:
        url = f"http://127.0.0.1:{port}/"
        wait_until_serving(url, ui, str(tmp_path / "ui.log"))
        questions = ["How many warships did Russia send to the Black Sea?",
                     "Who is the NATO Secretary General?"]

        def ask(question: str) -> dict:
            client = Client(url, auth=("team", "correct-horse"), verbose=False)
            return client.predict(question, api_name="/ask")

        with ThreadPoolExecutor(2) as pool:
            results = list(pool.map(ask, questions))
        for result in results:
            assert "error" not in result, result
        answered = [r for r in results if not r["abstained"]]
        assert answered, [(r["answer"], r.get("abstain_reason")) for r in results]
        for result in answered:
            assert result["citations"] and all(c["quote"] for c in result["citations"])
    finally:
        ui.terminate()
        ui.wait(timeout=30)
    assert "Traceback" not in (tmp_path / "ui.log").read_text()
