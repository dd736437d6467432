"""Ingest with the real embedder into real Chroma on disk."""

from __future__ import annotations

import shutil

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


def _state(index: Index) -> dict:
    records = index.store.collection.get(include=["documents", "metadatas"])
    return {i: (d, m) for i, d, m in zip(records["ids"], records["documents"], records["metadatas"])}


def test_ingest_adds_every_chunk_with_metadata(index, folder):
    report = index.ingest([folder], progress_bar=False)
    assert sorted(report.added) == sorted(str(p.resolve()) for p in folder.iterdir())
    assert report.total_chunks == report.chunks_written == index.store.count() > 10
    doc = index.catalog.document(str((folder / ARTICLE.name).resolve()))
    for chunk in index.store.all_chunks():
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
    texts = [c.text for c in index.store.all_chunks() if c.source == str(notes.resolve())]
    assert any("Pepper" in t for t in texts)
    assert not any("Biscuit" in t for t in texts)


def test_deleted_file_is_removed_when_its_folder_is_ingested(index, folder):
    index.ingest([folder], progress_bar=False)
    (folder / "notes.md").unlink()
    report = index.ingest([folder], progress_bar=False)
    gone = str((folder / "notes.md").resolve())
    assert report.removed == (gone,)
    assert gone not in index.catalog.sources()
    assert all(c.source != gone for c in index.store.all_chunks())


def test_ingesting_one_file_does_not_remove_its_neighbours(index, folder):
    index.ingest([folder], progress_bar=False)
    report = index.ingest([folder / "notes.md"], progress_bar=False)
    assert report.removed == ()
    assert len(index.catalog.sources()) == 2


def test_new_chunk_settings_reindex(tmp_path, embedder, folder):
    Index(tmp_path / "ix", embedder=embedder).ingest([folder], progress_bar=False)
    report = Index(tmp_path / "ix", embedder=embedder, chunk_size=200,
                   chunk_overlap=0).ingest([folder], progress_bar=False)
    assert len(report.updated) == 2
    assert all(len(c.text) <= 200 for c in Index(tmp_path / "ix", embedder=embedder)
               .store.all_chunks())


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
    assert all(c.source != source for c in index.store.all_chunks())
