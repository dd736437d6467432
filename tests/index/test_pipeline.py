"""Ingest with the real embedder into real Chroma on disk."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from index import Index
from tests.conftest import ARTICLE


@pytest.fixture
def index(tmp_path, embedder):
    return Index(tmp_path / "index", embedder=embedder)


@pytest.fixture
def folder(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(ARTICLE, docs / ARTICLE.name)
    (docs / "notes.md").write_text("# Notes\n\nThe lighthouse keeper's cat is named Biscuit. "
                                   "It sleeps on the lamp room stairs.\n")
    return docs


def stored_chunks(index: Index) -> list:
    return [chunk for page in index.store.pages(size=7) for chunk in page]


def _state(index: Index) -> dict:
    records = index.store.collection.get(include=["documents", "metadatas"])
    return {i: (d, m) for i, d, m in zip(records["ids"], records["documents"], records["metadatas"])}


def test_ingest_adds_every_chunk_with_metadata(index, folder):
    report = index.ingest([folder], progress_bar=False)
    assert sorted(report.added) == sorted(str(p.resolve()) for p in folder.iterdir())
    assert report.total_chunks == report.chunks_written == index.store.count() > 10
    doc = index.catalog.document(str((folder / ARTICLE.name).resolve()))
    for chunk in stored_chunks(index):
        source_text = index.catalog.document(chunk.source).text
        assert source_text[chunk.start:chunk.end] == chunk.text
        if chunk.source == doc.source:
            assert chunk.date == "2022-02-10" and chunk.title == doc.title


def test_ingesting_twice_changes_nothing(index, folder):
    index.ingest([folder], progress_bar=False)
    before = _state(index)
    generation = index.catalog.generation()
    report = index.ingest([folder], progress_bar=False)
    assert report.added == report.updated == report.removed == ()
    assert len(report.unchanged) == 2 and report.chunks_written == 0
    assert _state(index) == before
    assert index.catalog.generation() == generation


def test_changed_file_replaces_its_chunks(index, folder):
    index.ingest([folder], progress_bar=False)
    notes = folder / "notes.md"
    notes.write_text("# Notes\n\nThe lighthouse keeper's dog is named Pepper. It guards the door.\n")
    report = index.ingest([folder], progress_bar=False)
    assert report.updated == (str(notes.resolve()),)
    texts = [c.text for c in stored_chunks(index) if c.source == str(notes.resolve())]
    assert any("Pepper" in t for t in texts)
    assert not any("Biscuit" in t for t in texts)


def test_deleted_file_is_removed_when_its_folder_is_ingested(index, folder):
    index.ingest([folder], progress_bar=False)
    (folder / "notes.md").unlink()
    report = index.ingest([folder], progress_bar=False)
    gone = str((folder / "notes.md").resolve())
    assert report.removed == (gone,)
    assert gone not in index.catalog.sources()
    assert all(c.source != gone for c in stored_chunks(index))


def test_ingesting_one_file_does_not_remove_its_neighbours(index, folder):
    index.ingest([folder], progress_bar=False)
    report = index.ingest([folder / "notes.md"], progress_bar=False)
    assert report.removed == ()
    assert len(index.catalog.sources()) == 2


def test_files_from_hidden_folders_stay_when_their_parent_is_ingested(index, folder):
    uploads = folder / ".rag" / "uploads"
    uploads.mkdir(parents=True)
    upload = uploads / "memo.txt"
    upload.write_text("The memo says the ferry leaves at noon on Tuesdays.\n")
    index.ingest([folder, upload], progress_bar=False)
    report = index.ingest([folder], progress_bar=False)
    assert report.removed == ()
    assert str(upload.resolve()) in index.catalog.sources()


def test_a_folder_that_cannot_be_listed_is_skipped_and_keeps_its_files(index, folder,
                                                                      monkeypatch):
    import os

    inner = folder / "inner"
    inner.mkdir()
    (inner / "deep.md").write_text("The deep note says the well is forty metres deep.\n")
    index.ingest([folder], progress_bar=False)
    listing = os.scandir

    def scandir(path="."):  # (as root, chmod cannot make a folder unreadable)
        if Path(path) == inner:
            raise PermissionError(13, "Permission denied", str(path))
        return listing(path)

    monkeypatch.setattr(os, "scandir", scandir)
    report = index.ingest([folder], progress_bar=False)
    assert report.removed == ()
    assert str((inner / "deep.md").resolve()) in index.catalog.sources()
    assert any(s.path == str(inner) and "cannot be listed" in s.reason for s in report.skipped)


def test_a_link_to_a_folder_is_reported_not_followed(index, folder, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "far.md").write_text("The far note says the bridge opens at dawn.\n")
    (folder / "linked").symlink_to(outside)
    report = index.ingest([folder], progress_bar=False)
    assert [(s.path, s.reason) for s in report.skipped] == [
        (str(folder / "linked"), "a link to a folder, not followed: ingest the folder it "
                                 "points to by name")]
    assert len(report.added) == 2


def test_a_parser_crash_skips_only_that_file(index, folder, monkeypatch):
    from index import loaders

    def crash(data, **kwargs):  # as pypdf does on some damaged PDFs
        raise AttributeError("'NumberObject' object has no attribute 'items'")

    monkeypatch.setattr(loaders, "_load_markdown", crash)
    report = index.ingest([folder], progress_bar=False)
    assert [s.reason for s in report.skipped] == [
        "could not be read (AttributeError: 'NumberObject' object has no attribute 'items')"]
    assert report.added == (str((folder / ARTICLE.name).resolve()),)


def test_unchanged_files_are_not_parsed_again(index, folder, monkeypatch):
    from index import loaders

    index.ingest([folder], progress_bar=False)
    monkeypatch.setattr(loaders, "load", lambda path: pytest.fail(f"parsed {path} again"))
    report = index.ingest([folder], progress_bar=False)
    assert len(report.unchanged) == 2


def test_new_chunk_settings_reindex(tmp_path, embedder, folder):
    Index(tmp_path / "ix", embedder=embedder).ingest([folder], progress_bar=False)
    report = Index(tmp_path / "ix", embedder=embedder, chunk_size=200,
                   chunk_overlap=0).ingest([folder], progress_bar=False)
    assert len(report.updated) == 2
    assert all(len(c.text) <= 200 for c in stored_chunks(Index(tmp_path / "ix", embedder=embedder)))


def test_bad_files_are_skipped_with_reasons_and_the_rest_indexed(index, folder):
    (folder / "deck.pptx").write_bytes(b"PK\x03\x04")
    (folder / "empty.txt").write_text("")
    (folder / "latin.txt").write_bytes("caf\u00e9".encode("latin-1"))
    (folder / "fake.pdf").write_bytes(b"%PDF-1.4 broken")
    (folder / "dangling.txt").symlink_to(folder / "nowhere.txt")
    report = index.ingest([folder], progress_bar=False)
    reasons = {s.path.rsplit("/", 1)[-1]: s.reason for s in report.skipped}
    assert reasons.keys() == {"deck.pptx", "empty.txt", "latin.txt", "fake.pdf", "dangling.txt"}
    assert "unsupported file type" in reasons["deck.pptx"]
    assert reasons["empty.txt"] == "empty file"
    assert "UTF-8" in reasons["latin.txt"]
    assert "PDF" in reasons["fake.pdf"]
    assert "unreadable" in reasons["dangling.txt"]
    assert len(report.added) == 2


def test_a_file_that_turns_bad_keeps_its_indexed_version(index, folder):
    index.ingest([folder], progress_bar=False)
    before = _state(index)
    (folder / "notes.md").write_bytes(b"\xff\xfe broken bytes")
    report = index.ingest([folder], progress_bar=False)
    assert "previously indexed version is kept" in report.skipped[0].reason
    assert report.removed == ()
    assert _state(index) == before


def test_missing_path_changes_nothing(index, folder):
    index.ingest([folder], progress_bar=False)
    before = _state(index)
    with pytest.raises(FileNotFoundError):
        index.ingest([folder, folder / "no-such-dir"], progress_bar=False)
    assert _state(index) == before


def test_progress_reports_every_chunk(index, folder):
    seen = []
    report = index.ingest([folder], progress=lambda done, total: seen.append((done, total)),
                          progress_bar=False)
    assert seen[-1] == (report.chunks_written, report.chunks_written)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_remove_drops_document_and_chunks(index, folder):
    index.ingest([folder], progress_bar=False)
    source = str((folder / "notes.md").resolve())
    assert index.remove(source) >= 1
    assert source not in index.catalog.sources()
    assert all(c.source != source for c in stored_chunks(index))


def test_keyword_index_follows_every_change(index, folder):
    index.ingest([folder], progress_bar=False)
    notes = folder / "notes.md"
    assert [c.source for c in index.keyword_search("Biscuit", 5)] == [str(notes.resolve())]
    notes.write_text("# Notes\n\nThe lighthouse keeper's dog is named Pickle.\n")
    index.ingest([folder], progress_bar=False)
    assert index.keyword_search("Biscuit", 5) == []
    assert index.keyword_search("Pickle", 5)[0].source == str(notes.resolve())
    index.remove(str(notes.resolve()))
    assert index.keyword_search("Pickle", 5) == []
    assert index.catalog.keyword_count() == index.store.count()


class _FlakyEmbedder:
    """Counts what it embeds; dies on call number `dies_on` (as a kill would)."""

    def __init__(self, inner, dies_on: int = 0) -> None:
        self.inner, self.dies_on, self.calls, self.texts = inner, dies_on, 0, 0

    def embed_documents(self, texts, progress=None):
        self.calls += 1
        if self.calls == self.dies_on:
            raise KeyboardInterrupt
        self.texts += len(texts)
        return self.inner.embed_documents(texts, progress)

    def embed_query(self, text):
        return self.inner.embed_query(text)


def test_an_interrupted_ingest_resumes_without_embedding_again(tmp_path, embedder, folder,
                                                                monkeypatch):
    import index.pipeline as pipeline

    monkeypatch.setattr(pipeline, "WRITE_BATCH", 4)
    dying = _FlakyEmbedder(embedder, dies_on=3)
    with pytest.raises(KeyboardInterrupt):
        Index(tmp_path / "ix", embedder=dying).ingest([folder], progress_bar=False)
    stored = Index(tmp_path / "ix", embedder=embedder).store.count()
    assert stored == dying.texts > 0  # two batches made it to the store before the kill

    again = _FlakyEmbedder(embedder)
    report = Index(tmp_path / "ix", embedder=again).ingest([folder], progress_bar=False)
    assert again.texts == report.total_chunks - stored  # stored batches are not redone
    index = Index(tmp_path / "ix", embedder=embedder)
    assert index.catalog.keyword_count() == index.store.count() == report.total_chunks
    assert sum(d.chunk_count for d in index.catalog.documents()) == report.total_chunks


def test_without_a_terminal_progress_is_a_line_every_so_many_chunks(index, folder, monkeypatch,
                                                                    capsys):
    import index.pipeline as pipeline

    monkeypatch.setattr(pipeline, "LOG_EVERY", 5)
    report = index.ingest([folder], progress_bar=None)
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("Embedding")]
    assert len(lines) >= report.chunks_written // 5
    assert lines[-1].startswith(f"Embedding: {report.chunks_written:,}/{report.chunks_written:,}")


def test_an_index_made_before_the_keyword_index_gets_one(index, folder):
    index.ingest([folder], progress_bar=False)
    with index.catalog._connect() as db:
        db.execute("DELETE FROM keywords")
        db.execute("DELETE FROM keyword_chunks")
    fresh = Index(index.directory, embedder=index.embedder)
    assert fresh.keyword_search("Biscuit", 5)
    assert fresh.catalog.keyword_count() == fresh.store.count()


def _before_the_keyword_index(index, folder) -> Index:
    index.ingest([folder], progress_bar=False)
    with index.catalog._connect() as db:
        db.execute("DELETE FROM keywords")
        db.execute("DELETE FROM keyword_chunks")
    return Index(index.directory, embedder=index.embedder)


def test_doctor_on_an_index_made_before_the_keyword_index_keeps_its_chunks(index, folder):
    chunks = index.ingest([folder], progress_bar=False).total_chunks
    old = _before_the_keyword_index(index, folder)
    checkup = old.doctor()
    assert checkup.orphan_chunks == 0
    assert old.store.count() == old.catalog.keyword_count() == chunks


def test_a_first_dense_search_on_an_index_made_before_the_keyword_index_finds_chunks(index,
                                                                                      folder):
    old = _before_the_keyword_index(index, folder)
    assert old.vector_search(old.embedder.embed_query("Biscuit the dog"), 3)


def test_a_read_only_store_that_cannot_be_copied_leaves_no_partial_copy(tmp_path, monkeypatch):
    import tempfile

    from index.store import ChunkStore, StoreError

    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    (tmp_path / "chroma").mkdir()

    def full(source, target):
        Path(target).mkdir(parents=True)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(shutil, "copytree", full)
    with pytest.raises(StoreError, match="free space there, or set TMPDIR"):
        ChunkStore(tmp_path / "chroma")._snapshot()
    assert list(scratch.iterdir()) == []
