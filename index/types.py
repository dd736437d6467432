"""The data that flows through indexing: documents, chunks and the ingest report.

Every type is a frozen dataclass and carries its evidence: a chunk knows the exact
characters of its document it was cut from (`document.text[chunk.start:chunk.end]
== chunk.text`), and its id is derived from that content, so indexing the same
text twice writes nothing new.
"""

from __future__ import annotations

import bisect
import hashlib
from dataclasses import dataclass


@dataclass(frozen=True)
class SourceDocument:
    """One loaded file: its full text and what we know about it."""

    source: str
    """Absolute path of the file: the document's identity in the index."""
    text: str
    """The text chunks point into: the file's own text for .txt/.md, the extracted
    text for .html/.pdf."""
    title: str
    sha256: str
    """Hash of the file's bytes: an unchanged hash means nothing to re-embed."""
    kind: str
    """"txt", "md", "html" or "pdf"."""
    date: str | None = None
    body_start: int = 0
    """Offset where content begins; a metadata header line before it is not chunked."""
    page_starts: tuple[int, ...] = ()
    """For PDFs: the offset in `text` where each page (1, 2, ...) begins."""
    hard_wrapped: bool = False
    """True when single line breaks are layout (PDF), not sentence boundaries."""

    @property
    def name(self) -> str:
        return self.source.replace("\\", "/").rsplit("/", 1)[-1]

    def page_at(self, offset: int) -> int | None:
        """The 1-based page holding `offset`, or None for documents without pages."""
        if not self.page_starts:
            return None
        return max(1, bisect.bisect_right(self.page_starts, offset))


def chunk_id(source: str, start: int, text: str) -> str:
    """A stable id from where the chunk is and what it says."""
    digest = hashlib.sha256(f"{source}\x00{start}\x00{text}".encode()).hexdigest()
    return digest[:32]


@dataclass(frozen=True)
class Chunk:
    """A span of a document: the unit that is embedded, retrieved and cited."""

    id: str
    source: str
    text: str
    start: int
    end: int
    title: str
    date: str | None = None
    page: int | None = None
    index: int = 0
    """Position of the chunk within its document (0, 1, ...)."""

    @property
    def name(self) -> str:
        return self.source.replace("\\", "/").rsplit("/", 1)[-1]

    def metadata(self) -> dict[str, str | int]:
        """Metadata for the vector store (which accepts no None values)."""
        meta: dict[str, str | int] = {
            "source": self.source,
            "title": self.title,
            "start": self.start,
            "end": self.end,
            "index": self.index,
        }
        if self.date:
            meta["date"] = self.date
        if self.page is not None:
            meta["page"] = self.page
        return meta

    @classmethod
    def from_record(cls, id: str, text: str, meta: dict) -> Chunk:
        """Rebuild a chunk from what `metadata()` stored."""
        return cls(
            id=id,
            source=str(meta["source"]),
            text=text,
            start=int(meta["start"]),
            end=int(meta["end"]),
            title=str(meta.get("title", "")),
            date=meta.get("date") or None,
            page=int(meta["page"]) if meta.get("page") is not None else None,
            index=int(meta.get("index", 0)),
        )


@dataclass(frozen=True)
class SkippedFile:
    """A file that was not indexed, and why, in words a user can act on."""

    path: str
    reason: str


@dataclass(frozen=True)
class DocumentInfo:
    """What the catalog knows about one indexed document."""

    source: str
    title: str
    sha256: str
    kind: str
    chunk_count: int
    indexed_at: float
    date: str | None = None

    @property
    def name(self) -> str:
        return self.source.replace("\\", "/").rsplit("/", 1)[-1]


@dataclass(frozen=True)
class IngestReport:
    """What one ingest did, file by file."""

    added: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    skipped: tuple[SkippedFile, ...] = ()
    chunks_written: int = 0
    """Chunks embedded and stored by this run."""
    total_chunks: int = 0
    """Chunks in the whole index after this run."""
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)

    def summary(self) -> str:
        """One line for people: counts, then chunk totals and time."""
        parts = [
            f"{len(self.added)} added",
            f"{len(self.updated)} updated",
            f"{len(self.unchanged)} unchanged",
            f"{len(self.removed)} removed",
            f"{len(self.skipped)} skipped",
        ]
        return (
            ", ".join(parts)
            + f"; {self.chunks_written} chunks embedded, {self.total_chunks} in the index"
            + f" ({self.seconds:.1f} s)"
        )
