"""Ingest: files and folders in, chunks and vectors in the index, a report out.

The order of writes keeps the index whole if anything fails part-way: a document's
new chunks are embedded before anything is touched, then stored, then its stale
chunks are deleted, and only then does the catalog record the new version. A file
that cannot be read leaves its previously indexed version in place.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from index import loaders, splitter
from index.catalog import Catalog
from index.embedder import Embedder, MiniLMEmbedder
from index.store import ChunkStore
from index.types import Chunk, IngestReport, SkippedFile, SourceDocument

Progress = Callable[[int, int], None]
"""Called as `progress(done, total)` with counts of chunks embedded."""


@dataclass(frozen=True)
class _Pending:
    doc: SourceDocument
    chunks: list[Chunk]
    is_new: bool


class Index:
    """One index directory: a Chroma store of chunks plus the catalog of documents."""

    def __init__(self, directory: Path, embedder: Embedder | None = None,
                 chunk_size: int = splitter.DEFAULT_CHUNK_SIZE,
                 chunk_overlap: int = splitter.DEFAULT_CHUNK_OVERLAP) -> None:
        splitter.validate(chunk_size, chunk_overlap)
        self.directory = Path(directory)
        self.embedder = embedder or MiniLMEmbedder()
        self.chunk_size = chunk_size
        self.chunk_overlap = chunk_overlap
        self.store = ChunkStore(self.directory / "chroma")
        self.catalog = Catalog(self.directory / "catalog.sqlite3")

    @property
    def chunking(self) -> str:
        return f"sentences/{self.chunk_size}/{self.chunk_overlap}"

    def ingest(self, paths: Iterable[str | Path], progress: Progress | None = None,
               progress_bar: bool | None = None) -> IngestReport:
        """Index files and folders (recursively); see the module docstring for the rules.

        Raises:
            FileNotFoundError: a path does not exist (nothing is changed then).
        """
        started = time.perf_counter()
        roots = [Path(p).expanduser() for p in paths]
        for root in roots:
            if not root.exists():
                raise FileNotFoundError(str(root))

        added, updated, unchanged, skipped = [], [], [], []
        pending: list[_Pending] = []
        present: set[str] = set()
        for path in loaders.collect(roots):
            source = str(path.resolve())
            present.add(source)
            try:
                doc = loaders.load(path)
            except loaders.LoadError as exc:
                reason = str(exc)
                if self.catalog.fingerprint(source):
                    reason += "; the previously indexed version is kept"
                skipped.append(SkippedFile(str(path), reason))
                continue
            known = self.catalog.fingerprint(source)
            if known == (doc.sha256, self.chunking):
                unchanged.append(source)
                continue
            chunks = splitter.split_document(doc, self.chunk_size, self.chunk_overlap)
            pending.append(_Pending(doc, chunks, is_new=known is None))

        written = self._write(pending, progress, progress_bar)
        for item in pending:
            (added if item.is_new else updated).append(item.doc.source)

        removed = []
        for root in roots:
            if root.is_dir():
                prefix = str(root.resolve()).rstrip(os.sep) + os.sep
                for source in self.catalog.sources():
                    if source.startswith(prefix) and source not in present:
                        self.remove(source)
                        removed.append(source)

        return IngestReport(
            added=tuple(added), updated=tuple(updated), unchanged=tuple(unchanged),
            removed=tuple(removed), skipped=tuple(skipped), chunks_written=written,
            total_chunks=self.store.count(), seconds=time.perf_counter() - started,
        )

    def _write(self, pending: list[_Pending], progress: Progress | None,
               progress_bar: bool | None) -> int:
        total = sum(len(item.chunks) for item in pending)
        if progress_bar is None:
            progress_bar = sys.stderr.isatty()
        bar = None
        if progress_bar and total:
            from tqdm import tqdm

            bar = tqdm(total=total, unit="chunk", desc="Embedding", file=sys.stderr)
        done = 0

        def advance(n: int) -> None:
            nonlocal done
            done += n
            if bar is not None:
                bar.update(n)
            if progress:
                progress(done, total)

        try:
            for item in pending:
                vectors = self.embedder.embed_documents([c.text for c in item.chunks],
                                                        progress=advance)
                stale = self.store.ids_for_source(item.doc.source)
                self.store.upsert(item.chunks, vectors)
                self.store.delete(stale - {c.id for c in item.chunks})
                self.catalog.put(item.doc, self.chunking, len(item.chunks))
        finally:
            if bar is not None:
                bar.close()
        return total

    def remove(self, source: str) -> int:
        """Drop one document and its chunks; returns how many chunks went."""
        count = self.store.delete_source(source)
        self.catalog.remove(source)
        return count

