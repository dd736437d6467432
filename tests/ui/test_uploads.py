"""Upload staging: safe names, and nothing already kept is lost to a bad upload."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.types import IngestReport, SkippedFile
from ui import uploads


@pytest.mark.parametrize("name, safe", [
    ("../../etc/passwd.txt", "passwd.txt"), ("/abs/path/notes.md", "notes.md"),
    ("..\\..\\win.txt", "win.txt"), (".hidden.md", "hidden.md"), ("..", "upload.txt"),
])
def test_safe_names(name, safe):
    assert uploads.safe_name(name) == safe


@pytest.mark.parametrize("name, pattern", [
    ("a<b>|c?.txt", r"a_b_c_-[0-9a-f]{8}\.txt"), ("x" * 300 + ".md", "x{108}-[0-9a-f]{8}\\.md"),
    ("Q&A", r"Q_A-[0-9a-f]{8}"),
])
def test_changed_names_carry_a_hash_of_the_original(name, pattern):
    import re

    assert re.fullmatch(pattern, uploads.safe_name(name))
    assert len(uploads.safe_name(name)) <= uploads.MAX_NAME


def test_names_that_clean_alike_stay_apart():
    pairs = [("Q&A.md", "Q+A.md"), ("Report (1).pdf", "Report [1].pdf"),
             ("x" * 200 + "a.md", "x" * 200 + "b.md")]
    for first, second in pairs:
        assert uploads.safe_name(first) != uploads.safe_name(second)


def _upload(tmp_path: Path, name: str, data: bytes) -> str:
    folder = tmp_path / "gradio-tmp"
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_bytes(data)
    return str(path)


def _kept_notes(tmp_path: Path) -> Path:
    """An uploads folder holding the first version of notes.md."""
    kept = tmp_path / "uploads"
    kept.mkdir()
    (kept / "notes.md").write_text("# Notes\n\nThe first version.\n")
    return kept


def _report(skipped: list[Path] = ()) -> IngestReport:
    return IngestReport(added=(), updated=(), unchanged=(), removed=(),
                        skipped=tuple(SkippedFile(str(p), "bad") for p in skipped),
                        chunks_written=0, total_chunks=0, seconds=0.0)


def test_a_bad_upload_keeps_the_earlier_file_of_that_name(tmp_path):
    kept = _kept_notes(tmp_path)
    sent = _upload(tmp_path, "notes.md", b"\x00binary\x00")
    staged = uploads.stage([sent], kept, 2**20)
    assert staged.paths == [] and "NUL" in staged.skipped[0]
    assert (kept / "notes.md").read_text().endswith("The first version.\n")
    assert not Path(sent).exists(), "Gradio's copy is deleted"
    assert sorted(p.name for p in kept.iterdir()) == ["notes.md"]


def test_a_failed_ingest_puts_the_earlier_file_back(tmp_path):
    kept = _kept_notes(tmp_path)
    staged = uploads.stage([_upload(tmp_path, "notes.md", b"# Notes\n\nVersion two.\n"),
                            _upload(tmp_path, "new.md", b"# New\n\nA new file.\n")], kept, 2**20)
    assert (kept / "notes.md").read_text().endswith("Version two.\n")

    def fail(paths):
        raise RuntimeError("the embedder died")

    with pytest.raises(RuntimeError):
        uploads.ingest(staged, fail, recorded=lambda path: None)
    assert (kept / "notes.md").read_text().endswith("The first version.\n")
    assert sorted(p.name for p in kept.iterdir()) == ["notes.md"]


def test_a_failure_part_way_keeps_the_files_the_index_already_took(tmp_path):
    """The index commits document by document: one it took before the failure must keep
    its new file (citations open it), while the others go back to what they were."""
    kept = _kept_notes(tmp_path)
    staged = uploads.stage([_upload(tmp_path, "notes.md", b"# Notes\n\nVersion two.\n"),
                            _upload(tmp_path, "new.md", b"# New\n\nA new file.\n"),
                            _upload(tmp_path, "late.md", b"# Late\n\nNot reached.\n")],
                           kept, 2**20)
    from index import loaders

    index = {}  # what a real index records: source -> sha256 of the bytes it took

    def fail_after_two(paths):
        for path in paths[:2]:
            index[str(path.resolve())] = loaders.fingerprint(path)
        raise RuntimeError("the embedder died")

    index[str((kept / "late.md").resolve())] = "an older version's hash"
    with pytest.raises(RuntimeError):
        uploads.ingest(staged, fail_after_two,
                       recorded=lambda path: index.get(str(path.resolve())))
    assert (kept / "notes.md").read_text().endswith("Version two.\n")
    assert (kept / "new.md").read_text().endswith("A new file.\n")
    assert sorted(p.name for p in kept.iterdir()) == ["new.md", "notes.md"]


def test_a_successful_ingest_keeps_the_new_file_only(tmp_path):
    kept = _kept_notes(tmp_path)
    staged = uploads.stage([_upload(tmp_path, "../notes.md", b"# Notes\n\nVersion two.\n"),
                            _upload(tmp_path, "other.md", b"# Other\n\nWords.\n")], kept, 2**20)
    uploads.ingest(staged, lambda paths: _report(skipped=[kept / "other.md"]),
                   recorded=lambda path: None)
    assert (kept / "notes.md").read_text().endswith("Version two.\n")
    assert sorted(p.name for p in kept.iterdir()) == ["notes.md"], "a skipped file is not kept"


def test_oversized_uploads_are_skipped_and_removing_forgets_the_copy(tmp_path):
    kept = tmp_path / "uploads"
    staged = uploads.stage([_upload(tmp_path, "big.txt", b"word " * 1000)], kept, 100)
    assert staged.paths == [] and "larger than" in staged.skipped[0]
    (kept / "gone.md").write_text("x")
    uploads.forget(str((kept / "gone.md").resolve()), kept)
    uploads.forget(str(tmp_path / "elsewhere.md"), kept)  # not an upload: left alone
    assert not (kept / "gone.md").exists()


def test_a_failure_part_way_puts_back_what_the_batch_replaced(tmp_path, monkeypatch):
    kept = _kept_notes(tmp_path)
    sent = [_upload(tmp_path, "notes.md", b"# Notes\n\nVersion two.\n"),
            _upload(tmp_path, "full.md", b"# Full\n\nThe disk filled up.\n"),
            _upload(tmp_path, "never.md", b"# Never\n\nNot reached.\n")]
    copy = uploads.shutil.copyfile

    def copyfile(source, target):
        if Path(source).name == "full.md":
            raise OSError(28, "No space left on device")
        return copy(source, target)

    monkeypatch.setattr(uploads.shutil, "copyfile", copyfile)
    with pytest.raises(OSError):
        uploads.stage(sent, kept, 2**20)
    assert (kept / "notes.md").read_text().endswith("The first version.\n")
    assert sorted(p.name for p in kept.iterdir()) == ["notes.md"]  # nothing hidden left
    assert not any(Path(s).exists() for s in sent), "Gradio's copies are deleted"


def test_a_file_the_loader_chokes_on_is_skipped_with_a_reason(tmp_path, monkeypatch):
    kept = _kept_notes(tmp_path)

    def load(path):
        raise IndexError("list index out of range")  # as a malformed PDF can make pypdf

    monkeypatch.setattr(uploads.loaders, "load", load)
    staged = uploads.stage([_upload(tmp_path, "notes.md", b"# Notes\n\nVersion two.\n")],
                           kept, 2**20)
    assert staged.paths == []
    assert staged.skipped == ["notes.md: could not be read (IndexError); save it again from "
                              "the program that made it"]
    assert sorted(p.name for p in kept.iterdir()) == ["notes.md"]


def test_two_uploads_of_one_name_undo_to_the_file_before_both(tmp_path):
    kept = _kept_notes(tmp_path)
    staged = uploads.stage([_upload(tmp_path, "notes.md", b"# Notes\n\nVersion two.\n"),
                            _upload(tmp_path, "../notes.md", b"# Notes\n\nVersion three.\n")],
                           kept, 2**20)
    assert staged.paths == [kept / "notes.md"]
    assert (kept / "notes.md").read_text().endswith("Version three.\n")
    staged.undo()
    assert (kept / "notes.md").read_text().endswith("The first version.\n")
    assert sorted(p.name for p in kept.iterdir()) == ["notes.md"]
