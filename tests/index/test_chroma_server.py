"""The index on a real Chroma server (`chroma run`), shared by two app processes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ARTICLE, ROOT
from tests.servers import free_port, wait_until_serving

CHROMA = Path(sys.executable).parent / "chroma"


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory):
    port = free_port()
    log = tmp_path_factory.mktemp("chroma") / "server.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [str(CHROMA), "run", "--path", str(log.parent / "data"), "--port", str(port)],
            stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    wait_until_serving(f"{url}/api/v2/heartbeat", server, str(log), timeout=60)
    yield url
    server.terminate()
    server.wait(timeout=30)


def rag(url: str, index_dir: Path, *args: str) -> subprocess.CompletedProcess:
    """One app process: the `rag` command against the server, with its own replica."""
    env = {**os.environ, "RAG_CHROMA_URL": url, "RAG_CHROMA_HEADERS": json.dumps({"X-Token": "t"})}
    result = subprocess.run([sys.executable, "-m", "rag.cli", *args, "--index-dir", str(index_dir)],
                            capture_output=True, text=True, timeout=300, env=env, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    return result


def test_two_app_processes_share_one_index_on_the_server(chroma_url, tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(ARTICLE, docs / ARTICLE.name)
    notes = docs / "notes.md"
    notes.write_text("# Notes\n\nThe lighthouse keeper's cat is named Biscuit.\n")
    first, second = tmp_path / "app-one", tmp_path / "app-two"

    assert rag(chroma_url, first, "ingest", str(docs)).stdout.startswith("2 added")
    # another process, with nothing on its own disk, sees both documents and answers
    listed = rag(chroma_url, second, "docs").stdout
    assert ARTICLE.name in listed and "notes.md" in listed
    answer = json.loads(rag(chroma_url, second, "ask", "What is the cat named?", "--json",
                            "--backend", "extractive").stdout)
    assert "Biscuit" in answer["answer"] and answer["citations"][0]["source"] == str(notes)
    assert not (second / "chroma").exists()  # no vector store of its own

    # a removal by the second process is seen by the first
    rag(chroma_url, second, "remove", str(notes))
    assert "notes.md" not in rag(chroma_url, first, "docs").stdout
    answer = json.loads(rag(chroma_url, first, "ask", "What is the cat named?", "--json",
                            "--backend", "extractive").stdout)
    assert "Biscuit" not in answer["answer"]

    # re-ingesting from the first brings it back for both; the article was not re-embedded
    again = rag(chroma_url, first, "ingest", str(docs)).stdout
    assert again.startswith("1 added, 0 updated, 1 unchanged")
    answer = json.loads(rag(chroma_url, second, "ask", "What is the cat named?", "--json",
                            "--backend", "extractive").stdout)
    assert "Biscuit" in answer["answer"]


def test_a_server_that_is_not_there_is_a_one_line_error(tmp_path):
    env = {**os.environ, "RAG_CHROMA_URL": f"http://127.0.0.1:{free_port()}"}
    result = subprocess.run([sys.executable, "-m", "rag.cli", "docs", "--index-dir",
                             str(tmp_path / "ix")], capture_output=True, text=True,
                            timeout=120, env=env, cwd=ROOT)
    assert result.returncode == 1
    assert result.stderr.startswith("error: ") and "Chroma server" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_text_rewrite_cut_short_leaves_the_earlier_text_whole(chroma_url, tmp_path,
                                                                monkeypatch):
    import index.remote as remote
    from index.remote import RemoteCatalog
    from index.store import ChunkStore
    from index.types import SourceDocument

    monkeypatch.setattr(remote, "PART_CHARS", 8)  # many parts, read a few at a time

    def version(text: str) -> SourceDocument:
        return SourceDocument(source="/docs/log.txt", text=text, title="Log",
                              sha256=str(abs(hash(text))), kind="txt")

    old = version("The first version of the log, long enough for several parts.")
    new = version("Second.")
    store = ChunkStore(url=chroma_url)
    writer = RemoteCatalog(store, tmp_path / "writer.sqlite")
    writer.put(old, "c", set())
    upsert = writer.collection.upsert

    def cut(*, ids, **kwargs):
        if ids[0].startswith("doc:"):
            raise ConnectionError("the server went away")
        return upsert(ids=ids, **kwargs)

    monkeypatch.setattr(writer.collection, "upsert", cut)
    with pytest.raises(ConnectionError):
        writer.put(new, "c", set())
    reader = RemoteCatalog(store, tmp_path / "reader.sqlite")
    assert reader.document(old.source).text == old.text

    monkeypatch.setattr(writer.collection, "upsert", upsert)
    writer.put(new, "c", set())
    assert RemoteCatalog(store, tmp_path / "late.sqlite").document(new.source).text == new.text
    parts = writer.collection.get(where={"$and": [{"record": "text"}, {"source": new.source}]})
    assert len(parts["ids"]) == 1  # the earlier versions' parts are gone


def test_doctor_on_a_server_keeps_chunks_another_machine_is_writing(chroma_url, tmp_path):
    from index.store import ChunkStore

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "notes.md").write_text("# Notes\n\nThe lighthouse keeper's cat is named Biscuit.\n")
    app = tmp_path / "app"
    rag(chroma_url, app, "ingest", str(docs))
    store = ChunkStore(url=chroma_url)
    before = store.count()
    # Another machine's ingest, between its chunks going up and the record that owns them.
    store.collection.upsert(ids=["in-flight-0"], documents=["Pages of a report."],
                            embeddings=[[0.1] * 384],
                            metadatas=[{"source": "/elsewhere/report.txt", "start": 0,
                                        "end": 18}])
    found = rag(chroma_url, app, "doctor").stdout
    assert "1 chunks on the server belong to no indexed document; kept" in found
    assert store.count() == before + 1
    swept = rag(chroma_url, app, "doctor", "--sweep").stdout
    assert "deleted 1 chunks that no indexed document owns" in swept
    assert store.count() == before
