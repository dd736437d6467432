from __future__ import annotations

import os

import pytest

from index.loaders import LoadError, collect, load
from tests.conftest import ARTICLE
from tests.files import write_pdf


def test_article_header_becomes_metadata_not_text():
    doc = load(ARTICLE)
    assert doc.date == "2022-02-10"
    assert doc.title == 'Pentagon Holds Rare Call With Belarus Army Chief To Avoid "Miscalculation"'
    assert doc.text == ARTICLE.read_text(encoding="utf-8")  # offsets point into the file
    assert doc.text[doc.body_start:].lstrip().startswith("Russia and Belarus on Thursday")
    assert doc.kind == "txt" and len(doc.sha256) == 64


def test_plain_text_title_from_first_line_or_file_name(tmp_path):
    titled = tmp_path / "notes.txt"
    titled.write_text("Apollo_program\n\nThe Apollo program was the third.\n")
    untitled = tmp_path / "field_notes-2024.txt"
    untitled.write_text("It rained all day. We stayed in.\n")
    assert load(titled).title == "Apollo program"
    assert load(untitled).title == "field notes 2024"
    assert load(untitled).date is None


def test_markdown_title_is_first_heading(tmp_path):
    path = tmp_path / "guide.md"
    path.write_text("Intro line.\n\n## Setting up\n\nInstall it.\n")
    doc = load(path)
    assert doc.title == "Setting up"
    assert doc.text == path.read_text()


def test_html_keeps_visible_text_only(tmp_path):
    path = tmp_path / "page.html"
    path.write_text(
        "<html><head><title>Bridge facts</title><style>p{color:red}</style>"
        "<meta property='article:published_time' content='2021-05-04T10:00:00Z'></head>"
        "<body><h1>Bridges</h1><p>The bridge is <b>1,280 m</b> long.</p>"
        "<script>var secret = 'hidden';</script><div hidden>Invisible div.</div>"
        "<p>It opened in 1937.</p></body></html>"
    )
    doc = load(path)
    assert doc.title == "Bridge facts"
    assert doc.date == "2021-05-04"
    assert "The bridge is 1,280 m long." in doc.text
    assert "It opened in 1937." in doc.text
    for invisible in ("secret", "color:red", "Invisible div"):
        assert invisible not in doc.text
    assert doc.text.index("Bridges") < doc.text.index("The bridge")


def test_pdf_pages_are_numbered(tmp_path):
    path = write_pdf(tmp_path / "report.pdf",
                     [["The first page talks about rivers."], ["The second page is on lakes."]],
                     title="Water report")
    doc = load(path)
    assert doc.title == "Water report"
    assert doc.kind == "pdf" and doc.hard_wrapped
    second = doc.text.index("The second page")
    assert doc.page_at(0) == 1
    assert doc.page_at(second) == 2


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("slides.pptx", b"PK\x03\x04 zipped", "unsupported file type '.pptx'"),
        ("empty.txt", b"   \n\n", "empty file"),
        ("latin1.txt", "caf\u00e9 cr\u00e8me".encode("latin-1"), "not valid UTF-8 text"),
        ("binary.md", b"\x00\x01\x02binary\x00", "holds NUL bytes"),
        ("broken.pdf", b"%PDF-1.4 this is not really a pdf", "not a readable PDF"),
        ("scripts.html", b"<html><script>alert(1)</script></html>", "no text to index"),
    ],
)
def test_bad_files_raise_a_reason(tmp_path, name, content, reason):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(LoadError, match=reason.replace("(", r"\(").replace(".", r"\.")):
        load(path)


def test_unreadable_file_has_a_reason(tmp_path):
    dangling = tmp_path / "gone.txt"
    os.symlink(tmp_path / "missing-target.txt", dangling)
    with pytest.raises(LoadError, match="unreadable"):
        load(dangling)


def test_collect_walks_folders_recursively_and_skips_hidden(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "one.txt").write_text("One.")
    (tmp_path / "a" / "b").mkdir()
    (tmp_path / "a" / "b" / "two.md").write_text("Two.")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "config.txt").write_text("hidden")
    (tmp_path / ".hidden.txt").write_text("hidden")
    found = [p.relative_to(tmp_path).as_posix() for p in collect([tmp_path, tmp_path / "a"])]
    assert found == ["a/b/two.md", "a/one.txt"]
