"""Bad input, tried as a hostile but fair user would: every case is one line that says
what to do, never a traceback, and what is already indexed survives.

The API cases call `Assistant`; the CLI cases run `rag` as a user does.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from rag import Assistant, Settings
from rag.errors import ConfigError, IndexUnavailableError, InputError
from rag.script import CROSS_SCRIPT_TOKENS, cross_script
from tests.conftest import ARTICLE, CORPUS, ROOT

QUESTION = "How many warships did Russia send to the Black Sea?"


@pytest.fixture()
def indexed(tmp_path, embedder):
    """A fresh index of the bundled corpus (copied, so tests may damage it)."""
    from index import Index

    docs = tmp_path / "docs"
    shutil.copytree(CORPUS, docs)
    Index(tmp_path / "index", embedder=embedder).ingest([docs], progress_bar=False)
    return {"index": tmp_path / "index", "docs": docs}


def rag(*args: str | bytes, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rag.cli", *args], cwd=ROOT,
                          env={**os.environ, "RAG_BACKEND": "extractive", **(env or {})},
                          capture_output=True, text=True, timeout=300)


def one_line_error(result: subprocess.CompletedProcess, *phrases: str) -> None:
    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for phrase in phrases:
        assert phrase in lines[0], lines[0]


# The Python API -------------------------------------------------------------------


@pytest.mark.parametrize("question, phrase", [
    (123, "must be text"), (None, "must be text"), ("   ", "empty"),
    ("caf\udcff?", "not valid UTF-8"), ("word " * 1500, "characters long"),
    ("東京 " * 400, "word pieces long"),  # 1,200 characters, but 800+ word pieces
])
def test_bad_questions(corpus_settings, question, phrase):
    with pytest.raises(InputError, match=phrase):
        Assistant(corpus_settings.model_copy(update={"backend": "extractive"})).ask(question)


@pytest.mark.parametrize("passages", [-1, 0, True, "3", 2.5])
def test_bad_passage_counts(corpus_settings, passages):
    with pytest.raises(InputError, match="passages must be a whole number"):
        Assistant(corpus_settings.model_copy(update={"backend": "extractive"})).ask(
            QUESTION, passages=passages)


@pytest.mark.parametrize("paths, phrase", [
    (None, "at least one"), ([], "at least one"), ([None], "file or folder name"),
    ([""], "file or folder name"), ("/", "whole filesystem"), (["/"], "whole filesystem"),
])
def test_bad_ingest_paths(tmp_path, paths, phrase):
    with pytest.raises(InputError, match=phrase):
        Assistant(Settings(index_dir=tmp_path / "index")).ingest(paths)


def test_a_single_path_as_a_string_is_one_path(tmp_path, embedder):
    assistant = Assistant(Settings(index_dir=tmp_path / "index"))
    assistant.index.embedder = embedder
    report = assistant.ingest(str(ARTICLE))
    assert report.added == (str(ARTICLE.resolve()),)


@pytest.mark.parametrize("below", ["", "sub"])
def test_an_index_folder_that_is_a_file(tmp_path, below):
    afile = tmp_path / "afile"
    afile.write_text("not a folder")
    with pytest.raises(ConfigError, match="is a file"):
        Assistant(Settings(index_dir=afile / below if below else afile))


# The command line -------------------------------------------------------------------


@pytest.mark.parametrize("command", [["docs"], ["ask", QUESTION], ["ingest", str(CORPUS)],
                                     ["doctor"]])
def test_cli_index_dir_at_a_file(tmp_path, command):
    afile = tmp_path / "afile"
    afile.write_text("x")
    for where in (afile, afile / "sub"):
        one_line_error(rag(*command, "--index-dir", str(where)), "is a file")


def test_cli_question_that_is_not_utf8(indexed):
    result = subprocess.run([sys.executable, "-m", "rag.cli", "ask", "--backend", "extractive",
                             "--index-dir", str(indexed["index"]).encode(), b"caf\xff?"],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    one_line_error(result, "not valid UTF-8")


def test_damaged_catalog_is_one_line_and_doctor_recovers(indexed):
    index = str(indexed["index"])
    (indexed["index"] / "catalog.sqlite3").write_bytes(os.urandom(8192))
    for command in (["docs"], ["ask", QUESTION], ["ingest", str(indexed["docs"])]):
        one_line_error(rag(*command, "--index-dir", index), "damaged", "rag doctor")
    doctor = rag("doctor", "--index-dir", index)
    assert doctor.returncode == 0 and "moved to" in doctor.stdout
    assert rag("ingest", "--quiet", "--index-dir", index, str(indexed["docs"])).returncode == 0
    answer = rag("ask", "--index-dir", index, QUESTION)
    assert answer.returncode == 0 and "six warships" in answer.stdout


@pytest.mark.parametrize("damage", ["deleted", "emptied"])
def test_a_vector_store_lost_under_the_catalog_heals_on_ingest(indexed, damage):
    index = indexed["index"]
    if damage == "deleted":
        shutil.rmtree(index / "chroma")
    else:
        (index / "chroma" / "chroma.sqlite3").write_bytes(b"")
    one_line_error(rag("ask", "--index-dir", str(index), QUESTION), "rag ingest")
    listed = rag("docs", "--index-dir", str(index))
    assert listed.returncode == 0 and "13 chunks" in listed.stdout
    again = rag("ingest", "--quiet", "--index-dir", str(index), str(indexed["docs"]))
    assert again.returncode == 0 and "13 in the index" in again.stdout
    answer = rag("ask", "--index-dir", str(index), QUESTION)
    assert answer.returncode == 0 and "six warships" in answer.stdout


def test_a_second_writer_is_told_who_holds_the_index(indexed):
    with open(indexed["index"] / "write.lock", "a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        held.write("pid 4242")
        held.flush()
        for command in (["ingest", str(indexed["docs"])],
                        ["remove", str(indexed["docs"] / ARTICLE.name)]):
            one_line_error(rag(*command, "--index-dir", str(indexed["index"])),
                           "pid 4242", "wait for it")
        # Readers are not held up.
        assert rag("ask", "--index-dir", str(indexed["index"]), QUESTION).returncode == 0


def test_nul_bytes_anywhere_mean_the_file_is_skipped(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "late-nul.txt").write_bytes(b"Plain words. " * 1000 + b"\x00tail")
    result = rag("ingest", "--index-dir", str(tmp_path / "index"), str(docs))
    assert result.returncode == 0
    assert "skipped" in result.stdout and "NUL bytes" in result.stdout


def test_a_corrupt_pdf_is_skipped_quietly(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "broken.pdf").write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >>"
                                      b"\nendobj\nxref\n0 1\ntrailer << /Root 1 0 R >>\n%%EOF")
    result = rag("ingest", "--index-dir", str(tmp_path / "index"), str(docs))
    assert result.returncode == 0
    assert "skipped" in result.stdout
    assert result.stderr.strip() == "", result.stderr


def test_a_read_only_index_can_be_asked_but_not_changed(indexed, tmp_path):
    mount = tmp_path / "ro"
    mount.mkdir()
    done = subprocess.run(["mount", "--bind", str(indexed["index"]), str(mount)],
                          capture_output=True)
    if done.returncode != 0:
        pytest.skip("a read-only bind mount needs root (CAP_SYS_ADMIN)")
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(mount)], check=True)
        answer = rag("ask", "--index-dir", str(mount), QUESTION)
        assert answer.returncode == 0 and "six warships" in answer.stdout, answer.stderr
        assert rag("docs", "--index-dir", str(mount)).returncode == 0
        one_line_error(rag("remove", "--index-dir", str(mount),
                           str(indexed["docs"] / ARTICLE.name)), "read-only")
        one_line_error(rag("ingest", "--index-dir", str(mount), str(indexed["docs"])),
                       "read-only")
    finally:
        subprocess.run(["umount", str(mount)], check=False)


# A question in another script than the documents ------------------------------------


class _Recording(FakeListChatModel):
    """Scripted answers that record the per-call arguments (plumbing only)."""

    seen: list

    def _call(self, messages, stop=None, run_manager=None, **kwargs):
        self.seen.append(kwargs)
        return super()._call(messages, stop, run_manager, **kwargs)

    def _stream(self, messages, stop=None, run_manager=None, **kwargs):
        self.seen.append(kwargs)
        yield from super()._stream(messages, stop, run_manager, **kwargs)


def test_a_question_in_another_script_gets_a_short_draft(corpus_settings):
    assert cross_script("ما هي السفن الحربية التي أرسلتها روسيا؟", ["Russia sent warships."])
    assert not cross_script("Which warships?", ["Russia sent warships."])
    model = _Recording(responses=["لا أعرف", "six warships [1]"], seen=[])
    # no guess at the answer's sentence for a question the documents match poorly: only
    # the drafts are asked
    assistant = Assistant(corpus_settings.model_copy(update={"guess_below": 0.0}),
                          chat_model=model)
    assistant.ask("ما هي السفن الحربية التي أرسلتها روسيا إلى البحر الأسود؟")
    assistant.ask(QUESTION)
    assert model.seen[0].get("max_tokens") == CROSS_SCRIPT_TOKENS
    assert "max_tokens" not in model.seen[1]


def test_cli_remove_of_an_unknown_document_and_unexpected_errors_are_one_line(indexed):
    one_line_error(rag("remove", "--index-dir", str(indexed["index"]), "/no/such.txt"),
                   "not in the index")
    assert Path(indexed["index"]).is_dir()  # nothing indexed was touched
    listed = rag("docs", "--index-dir", str(indexed["index"]))
    assert "13 chunks" in listed.stdout


def test_ask_on_a_damaged_index_is_an_index_error(indexed):
    (indexed["index"] / "catalog.sqlite3").write_bytes(b"garbage" * 1000)
    with pytest.raises(IndexUnavailableError, match="damaged"):
        Assistant(Settings(index_dir=indexed["index"], backend="extractive")).ask(QUESTION)


def test_a_damaged_vector_store_is_set_aside_by_doctor(indexed):
    index = indexed["index"]
    (index / "chroma" / "chroma.sqlite3").write_bytes(os.urandom(100_000))
    for command in (["ask", QUESTION], ["ingest", str(indexed["docs"])]):
        one_line_error(rag(*command, "--index-dir", str(index)), "rag doctor")
    doctor = rag("doctor", "--index-dir", str(index))
    assert doctor.returncode == 0 and "vector store was damaged" in doctor.stdout
    assert rag("ingest", "--quiet", "--index-dir", str(index), str(indexed["docs"])
               ).returncode == 0
    answer = rag("ask", "--index-dir", str(index), QUESTION)
    assert answer.returncode == 0 and "six warships" in answer.stdout
    assert rag("doctor", "--index-dir", str(index)).stdout.strip() == "the index is consistent"
