"""Files in, `SourceDocument`s out: one loader per format, and the folder walk.

A file that cannot be indexed raises `LoadError` with a reason a user can act on;
the pipeline records it as skipped and goes on with the rest.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import stat
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path

from index.types import SourceDocument

SUPPORTED_SUFFIXES = {".txt": "txt", ".text": "txt", ".md": "md", ".markdown": "md",
                      ".html": "html", ".htm": "html", ".pdf": "pdf"}
MAX_FILE_BYTES = 50 * 1024 * 1024

# The bundled news articles start with a line like " date 2022-02-10 Some Title".
# Patterns here take each line whole and leave trimming to Python: a lazy group before
# an optional run of spaces is quadratic on a long line of spaces.
_HEADER = re.compile(r"[ \t]*+date[ \t]++(\d{4}-\d{2}-\d{2})[ \t]++(\S[^\r\n]*+)(?:\r?\n|$)")
_MD_HEADING = re.compile(r"^#{1,6}[ \t]++(\S[^\n]*+)", re.MULTILINE)
_TITLE_CHARS = 200
_WORD_CHAR = re.compile(r"[^\W_]")
_HTML_BLOCKS = ("address", "article", "aside", "blockquote", "dd", "div", "dl", "dt",
                "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5",
                "h6", "header", "hr", "li", "main", "nav", "ol", "p", "pre", "section",
                "table", "td", "th", "tr", "ul")
_HTML_INVISIBLE = ("script", "style", "noscript", "template", "head", "svg", "iframe",
                   "object", "canvas")


class LoadError(Exception):
    """The file cannot be indexed; `str()` says why and what to do."""


def supported(path: Path) -> bool:
    return path.suffix.lower() in SUPPORTED_SUFFIXES


def iter_files(root: Path) -> Iterator[Path]:
    """Every file under `root` (or `root` itself), sorted, hidden ones left out."""
    if root.is_file():
        yield root
        return
    # A walk that never enters hidden folders (.git, .venv, the index's own .rag), rather
    # than listing all they hold and then leaving it out; in the order of the sorted paths.
    # A folder that cannot be listed is yielded itself, and so is a link to a folder (not
    # followed: its files would be indexed under another folder's paths), so that `load`
    # reports them.
    stack = [_listing(root)]
    while stack:
        entry = next(stack[-1], None)
        if entry is None:
            stack.pop()
        elif isinstance(entry, Path):
            yield entry
        elif entry.is_dir(follow_symlinks=False):
            stack.append(_listing(Path(entry.path)))
        else:  # links to folders and broken links too, so they are reported, not lost
            yield Path(entry.path)


def _listing(folder: Path) -> Iterator[os.DirEntry | Path]:
    """The visible entries of `folder` by name, or `folder` itself if it cannot be listed."""
    try:
        with os.scandir(folder) as entries:
            found = sorted((e for e in entries if not e.name.startswith(".")),
                           key=lambda e: e.name)
    except OSError:
        yield folder
        return
    yield from found


def fingerprint(path: Path) -> str | None:
    """The SHA-256 that `load` would record for the file, or None where `load` would not
    get that far (unreadable, not a regular file, too big)."""
    try:
        return hashlib.sha256(read(path)).hexdigest()
    except LoadError:
        return None


def read(path: Path) -> bytes:
    """The file's bytes, after the checks every load makes first; or raise `LoadError`."""
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise LoadError("not a regular file")
        size = info.st_size
        if size > MAX_FILE_BYTES:
            raise LoadError(f"file is {size // 2**20} MB, over the {MAX_FILE_BYTES // 2**20} MB limit")
        return path.read_bytes()
    except PermissionError as exc:
        raise LoadError("unreadable: permission denied (check the file's permissions)") from exc
    except FileNotFoundError as exc:
        raise LoadError("unreadable: the file vanished or is a broken link") from exc
    except OSError as exc:
        raise LoadError(f"unreadable: {exc.strerror or exc}") from exc


def load(path: Path, data: bytes | None = None) -> SourceDocument:
    """Read one file into a `SourceDocument`, or raise `LoadError`; `data`: its bytes, where
    the caller has read them already (with `read`)."""
    if path.is_dir():  # (`iter_files` yields the folders it does not walk)
        if path.is_symlink():
            raise LoadError("a link to a folder, not followed: ingest the folder it points "
                            "to by name")
        raise LoadError("a folder that cannot be listed (check its permissions); what was "
                        "indexed from it is kept")
    kind = SUPPORTED_SUFFIXES.get(path.suffix.lower())
    if kind is None:
        allowed = ", ".join(sorted(set(SUPPORTED_SUFFIXES)))
        raise LoadError(f"unsupported file type '{path.suffix or path.name}' (supported: {allowed})")
    if data is None:
        data = read(path)
    if not data.strip():
        raise LoadError("empty file")
    if kind != "pdf" and b"\x00" in data:  # text formats never hold NUL bytes
        raise LoadError("holds NUL bytes: a binary file, or text not saved as UTF-8 "
                        "(re-save it as UTF-8)")
    sha = hashlib.sha256(data).hexdigest()
    source = str(path.resolve())
    loader = {"txt": _load_text, "md": _load_markdown, "html": _load_html, "pdf": _load_pdf}[kind]
    doc = loader(data, source=source, sha256=sha, stem=path.stem)
    if not doc.text[doc.body_start:].strip():
        raise LoadError("no text to index" if kind in ("html", "pdf") else "empty file")
    if not _WORD_CHAR.search(doc.text, doc.body_start):
        raise LoadError("no words to index (no letters or digits)")
    return doc


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LoadError(
            f"not valid UTF-8 text (byte {exc.start}); re-save the file as UTF-8"
        ) from exc


def _title_from_stem(stem: str) -> str:
    return re.sub(r"[_\-]+", " ", stem).strip() or stem


def _load_text(data: bytes, *, source: str, sha256: str, stem: str) -> SourceDocument:
    text = _decode(data)
    header = _HEADER.match(text)
    if header:
        title = header.group(2).rstrip(" \t")[:_TITLE_CHARS]
        return SourceDocument(source=source, text=text, title=title, sha256=sha256,
                              kind="txt", date=header.group(1), body_start=header.end())
    return SourceDocument(source=source, text=text, title=_first_line_title(text) or
                          _title_from_stem(stem), sha256=sha256, kind="txt")


def _first_line_title(text: str) -> str | None:
    """A short first line followed by a blank line reads as a title."""
    match = re.match(r"\s*([^\r\n]{1,100})\r?\n[ \t]*\r?\n", text)
    if match and not match.group(1).rstrip().endswith((".", ",", ";", ":")):
        return _title_from_stem(match.group(1).strip())
    return None


def _load_markdown(data: bytes, *, source: str, sha256: str, stem: str) -> SourceDocument:
    text = _decode(data)
    heading = _MD_HEADING.search(text)
    title = heading.group(1).rstrip(" \t#\r")[:_TITLE_CHARS] if heading else ""
    title = title or _title_from_stem(stem)
    return SourceDocument(source=source, text=text, title=title, sha256=sha256, kind="md")


def _load_html(data: bytes, *, source: str, sha256: str, stem: str) -> SourceDocument:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(data, "html.parser")
    title_tag = soup.find("title")
    title = title_tag.get_text(" ", strip=True) if title_tag else ""
    date = _html_date(soup)
    for tag in soup.find_all(_HTML_INVISIBLE):
        tag.decompose()
    for tag in soup.find_all(lambda t: t.has_attr("hidden") or t.get("aria-hidden") == "true"):
        tag.decompose()
    for tag in soup.find_all("br"):
        tag.replace_with("\n")
    for tag in soup.find_all(_HTML_BLOCKS):
        tag.insert_before("\n\n")
        tag.insert_after("\n\n")
    paragraphs = []
    for block in re.split(r"\n\s*\n", soup.get_text()):
        lines = [" ".join(line.split()) for line in block.splitlines()]
        paragraph = "\n".join(line for line in lines if line)
        if paragraph:
            paragraphs.append(paragraph)
    text = "\n\n".join(paragraphs)
    if not title:
        heading = soup.find(["h1", "h2"])
        title = heading.get_text(" ", strip=True) if heading else _title_from_stem(stem)
    return SourceDocument(source=source, text=text, title=title, sha256=sha256, kind="html",
                          date=date)


def _html_date(soup) -> str | None:
    for attrs in ({"property": "article:published_time"}, {"name": "date"},
                  {"name": "dc.date"}, {"itemprop": "datePublished"}):
        meta = soup.find("meta", attrs=attrs)
        if meta and meta.get("content"):
            match = re.match(r"\d{4}-\d{2}-\d{2}", meta["content"])
            if match:
                return match.group(0)
    time_tag = soup.find("time", attrs={"datetime": True})
    if time_tag:
        match = re.match(r"\d{4}-\d{2}-\d{2}", time_tag["datetime"])
        if match:
            return match.group(0)
    return None


@contextlib.contextmanager
def _quiet_pypdf() -> Iterator[None]:
    """pypdf logs and warns about every flaw it works around in a damaged PDF; the file's
    fate is reported once, as skipped or indexed, so silence them while it reads."""
    logger = logging.getLogger("pypdf")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def _load_pdf(data: bytes, *, source: str, sha256: str, stem: str) -> SourceDocument:
    import io

    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        with _quiet_pypdf():
            reader = PdfReader(io.BytesIO(data))
            if reader.is_encrypted:
                raise LoadError("the PDF is encrypted; save a copy without a password")
            pages = [page.extract_text() or "" for page in reader.pages]
            meta_title = (reader.metadata.title if reader.metadata else None) or ""
    except LoadError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise LoadError(f"not a readable PDF ({exc})") from exc
    page_starts: list[int] = []
    parts: list[str] = []
    offset = 0
    for page_text in pages:
        cleaned = "\n".join(line.rstrip() for line in page_text.strip().splitlines())
        page_starts.append(offset)
        parts.append(cleaned)
        offset += len(cleaned) + 2
    text = "\n\n".join(parts)
    if not text.strip():
        raise LoadError("the PDF has no extractable text (a scanned PDF needs OCR first)")
    title = meta_title.strip() or _title_from_stem(stem)
    return SourceDocument(source=source, text=text, title=title, sha256=sha256, kind="pdf",
                          page_starts=tuple(page_starts), hard_wrapped=True)


def collect(paths: Iterable[Path]) -> Iterator[Path]:
    """Expand files and folders into files, each once."""
    seen: set[Path] = set()
    for root in paths:
        for path in iter_files(root):
            resolved = path.resolve()
            if resolved not in seen:
                seen.add(resolved)
                yield path
