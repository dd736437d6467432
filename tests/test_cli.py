"""The `rag` command, run as a user runs it: a subprocess."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import CORPUS

RAG = [str(Path(sys.executable).parent / "rag")]  # the console script, as a user runs it


def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*RAG, *args], capture_output=True, text=True, timeout=600,
                          env={**os.environ, **(env or {})})


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "index"
    result = run("ingest", str(CORPUS), "--index-dir", str(path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("1 added, 0 updated, 0 unchanged, 0 removed, 0 skipped")
    return path


def test_ingest_again_is_a_no_op(index_dir):
    result = run("ingest", str(CORPUS), "--index-dir", str(index_dir))
    assert result.returncode == 0
    assert "0 added, 0 updated, 1 unchanged" in result.stdout
    assert "0 chunks embedded" in result.stdout


def test_ask_json_has_the_documented_shape(index_dir):
    result = run("ask", "How many warships did Russia send?", "--json", "--backend", "extractive",
                 "--index-dir", str(index_dir))
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert {"answer", "citations", "abstained", "timings"} <= data.keys()
    assert data["abstained"] is False
    assert "six warships" in data["answer"]
    citation = data["citations"][0]
    assert {"marker", "source", "start", "end", "quote"} <= citation.keys()
    text = Path(citation["source"]).read_text(encoding="utf-8")
    assert text[citation["start"]:citation["end"]] == citation["quote"]
    assert {"retrieve", "generate", "total"} <= data["timings"].keys()
    passages = data["passages"]
    assert passages and {"source", "title", "start", "end", "text", "score"} <= passages[0].keys()
    assert [p["score"] for p in passages] == sorted((p["score"] for p in passages), reverse=True)
    assert text[passages[0]["start"]:passages[0]["end"]] == passages[0]["text"]


def test_ask_with_the_local_model_counts_the_warships(index_dir):
    result = run("ask", "How many warships did Russia send to the Black Sea?",
                 "--index-dir", str(index_dir))
    assert result.returncode == 0, result.stderr
    answer, _, sources = result.stdout.partition("\nSources:\n")
    assert re.search(r"\b(six|6)\b", answer.lower()), answer
    assert re.search(r"\[\d\]", answer)
    assert "2022-02-10-pentagon-belarus-army-chief-call.txt" in sources
    assert "six warships" in sources


def test_a_decline_shows_the_closest_passages(index_dir):
    result = run("ask", "What is the capital of Australia?", "--backend", "extractive",
                 "--index-dir", str(index_dir))
    assert result.returncode == 0, result.stderr
    answer, _, found = result.stdout.partition("\nThe closest passages found")
    assert "do not say" in answer and "Sources:" not in result.stdout
    places = re.findall(r"\((\S+\.txt), chars (\d+)-(\d+)\)", found)
    assert len(places) == 2
    text = (CORPUS / places[0][0]).read_text(encoding="utf-8")
    quoted = " ".join(found.split("“", 1)[1].split("”", 1)[0].split()).removesuffix(" …")
    assert " ".join(text[int(places[0][1]):int(places[0][2])].split()).startswith(quoted)
    assert len(quoted) > 40


@pytest.mark.parametrize(("args", "message"), [
    (["ask", "   "], "The question is empty"),
    (["ingest", "/no/such/folder"], "No such file or folder: /no/such/folder"),
])
def test_errors_are_one_line_and_non_zero(index_dir, args, message):
    result = run(*args, "--index-dir", str(index_dir))
    assert result.returncode == 1
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert result.stderr.count("\n") == 1


@pytest.mark.parametrize(("args", "message"), [
    (["ask", "Who?", "--backend", "gpt5"], "argument --backend: invalid choice: 'gpt5'"),
    (["ask", "Who?", "-k", "0"], "argument -k: 0 is out of range (from 1 to 50)"),
    (["ingest", ".", "--chunk-size", "ten"], "argument --chunk-size: 'ten' is not a whole number"),
    (["ui", "--port", "70000"], "argument --port: 70000 is out of range (from 1 to 65535)"),
])
def test_a_bad_flag_is_named_before_anything_runs(args, message):
    result = run(*args)
    assert result.returncode == 2
    assert message in result.stderr.splitlines()[-1], result.stderr


def test_a_bad_setting_names_its_variable_and_a_misspelt_one_is_pointed_out(index_dir):
    wrong = run("docs", "--index-dir", str(index_dir), env={"RAG_BACKEND": "gpt5"})
    assert wrong.returncode == 1 and wrong.stderr.count("\n") == 1
    assert "backend (RAG_BACKEND): unknown backend 'gpt5'" in wrong.stderr
    misspelt = run("docs", "--index-dir", str(index_dir), env={"RAG_CONTEXT_NEIGHBORS": "2"})
    assert misspelt.returncode == 0
    assert misspelt.stderr == ("warning: RAG_CONTEXT_NEIGHBORS is not a setting and is "
                               "ignored (did you mean RAG_CONTEXT_NEIGHBOURS?)\n")
    small = run("docs", "--index-dir", str(index_dir), env={"RAG_CHUNK_SIZE": "10"})
    assert small.stderr == ("error: Invalid settings: chunk_size (RAG_CHUNK_SIZE, "
                            "--chunk-size) must be at least 50, got 10\n")


def test_a_document_is_removed_by_a_path_through_a_link(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "notes.md").write_text("# Notes\n\nThe kettle is blue.\n")
    (tmp_path / "link").symlink_to(tmp_path / "real")
    index = str(tmp_path / "index")
    assert run("ingest", str(tmp_path / "real"), "--index-dir", index).returncode == 0
    removed = run("remove", str(tmp_path / "link" / "notes.md"), "--index-dir", index)
    assert removed.returncode == 0, removed.stderr
    assert removed.stdout.startswith(f"Removed {(tmp_path / 'real' / 'notes.md').resolve()}")


def test_output_into_a_closed_pipe_ends_quietly(index_dir):
    reader, writer = os.pipe()
    os.close(reader)  # (like `rag docs | head` once head has what it wants)
    result = subprocess.run([*RAG, "docs", "--index-dir", str(index_dir)], stdout=writer,
                            stderr=subprocess.PIPE, text=True, timeout=600)
    os.close(writer)
    assert result.returncode == 1 and result.stderr == ""


def test_empty_or_wrong_path_settings_are_one_line(index_dir, tmp_path):
    where = {"cwd": tmp_path}
    empty = subprocess.run([*RAG, "docs"], capture_output=True, text=True, timeout=600,
                           env={**os.environ, "RAG_INDEX_DIR": ""}, **where)
    assert empty.returncode == 1 and "RAG_INDEX_DIR" in empty.stderr and "is empty" in empty.stderr
    assert empty.stderr.count("\n") == 1 and not list(tmp_path.iterdir())  # nothing made here
    unset = run("docs", "--index-dir", str(index_dir), env={"RAG_CALIBRATION_PATH": ""})
    assert unset.returncode == 0, unset.stderr
    folder = run("docs", "--index-dir", str(index_dir), env={"RAG_CALIBRATION_PATH": str(tmp_path)})
    assert folder.returncode == 1 and "RAG_CALIBRATION_PATH" in folder.stderr
    assert folder.stderr.count("\n") == 1 and "unexpected" not in folder.stderr


def test_debug_before_the_command_shows_the_traceback(index_dir):
    result = run("--debug", "remove", "no-such-document.txt", "--index-dir", str(index_dir))
    assert result.returncode == 1 and "Traceback" in result.stderr


def test_an_index_keeps_its_chunking_unless_told_otherwise(tmp_path):
    index = str(tmp_path / "index")
    assert run("ingest", str(CORPUS), "--chunk-size", "200", "--chunk-overlap", "0",
               "--index-dir", index).returncode == 0
    again = run("ingest", str(CORPUS), "--index-dir", index)  # (not re-cut at the default)
    assert again.stdout.startswith("0 added, 0 updated, 1 unchanged"), again.stdout
    recut = run("ingest", str(CORPUS), "--chunk-size", "300", "--index-dir", index)
    assert recut.stdout.startswith("0 added, 1 updated"), recut.stdout


def test_asking_before_anything_is_indexed(tmp_path):
    result = run("ask", "Who?", "--index-dir", str(tmp_path / "none"))
    assert result.returncode == 1
    assert result.stderr == (f"error: No documents are indexed in {tmp_path / 'none'} yet. "
                             "Run `rag ingest <folder>` first (or upload files in the UI), or "
                             "point RAG_INDEX_DIR / --index-dir at the index you built.\n")


def test_every_command_has_help():
    for command in ["ingest", "ask", "docs", "remove", "ui", "eval"]:
        result = run(command, "--help")
        assert result.returncode == 0 and "usage: rag " + command in result.stdout


def test_help_and_docs_leave_the_model_libraries_unloaded(index_dir):
    code = ("import sys, rag.cli\ntry:\n    rag.cli.main(sys.argv[1:])\nfinally:\n"
            "    print(sorted(m for m in ('torch', 'llama_cpp', 'sentence_transformers', "
            "'chromadb') if m in sys.modules))")
    for args in (["docs", "--index-dir", str(index_dir)], ["ingest", "--help"]):
        result = subprocess.run([sys.executable, "-c", code, *args], capture_output=True,
                                text=True, timeout=120)
        assert result.stdout.strip().endswith("[]"), (args, result.stdout, result.stderr)
