"""Ingest: files and folders in, chunks and vectors in the index, a report out.

Memory stays flat whatever the file size: a document is split, embedded and written
`WRITE_BATCH` chunks at a time, so no more than one batch of vectors is ever held.
The order of writes keeps the index whole if anything fails part-way. The catalog
notes the document as pending; each batch goes to Chroma and then, uncommitted, to
the keyword index; once every batch is in, the catalog records the new version and
commits its chunks in one transaction, and only then do stale chunks (an older
version's) go. Searches return committed chunks only, so whatever a kill leaves
behind is never cited; the next writer rolls the pending note back (`repair`), and
`doctor` sweeps the rest. Removal commits first too: the catalog forgets the document,
then its chunks go. Chunk ids follow content, so a run that was killed resumes where
it stopped: batches already stored are not embedded again. A file that cannot be read
leaves its previously indexed version in place.

One writer at a time: a lock file in the index folder (`write.lock`) keeps a second
process out with a clear message, and threads of one process take turns.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from index import loaders, splitter
from index.catalog import Catalog
from index.embedder import Embedder, MiniLMEmbedder
from index.store import ChunkStore, StoreError, damaged, read_only_message
from index.types import Chunk, IngestReport, SkippedFile, SourceDocument

if TYPE_CHECKING:
    from index.remote import RemoteCatalog

Progress = Callable[[int, int], None]
"""Called as `progress(done, total)` with counts of chunks written."""

WRITE_BATCH = 512
"""Chunks embedded and written together: the most an interrupted ingest loses."""
LOG_EVERY = 5000
"""Without a terminal, a progress line every this many chunks."""


_THREAD_LOCKS: dict[str, threading.Lock] = {}
_THREAD_LOCKS_GUARD = threading.Lock()


@dataclass
class Checkup:
    """What `Index.doctor` found and put right."""

    rolled_back: list[str] = field(default_factory=list)
    """Sources whose interrupted write was undone."""
    orphan_chunks: int = 0
    """Chunks in the vector store that no recorded document owns (deleted)."""
    orphans_kept: int = 0
    """Such chunks found on a shared server and left there (another machine may be
    writing them: its chunks go up before the record that owns them)."""
    missing: list[str] = field(default_factory=list)
    """Documents with chunks missing from the vector store (the next ingest redoes them)."""
    catalog_reset: str | None = None
    """Where a damaged catalog was moved before a fresh one was started."""
    store_reset: str | None = None
    """Where a damaged vector store was moved before a fresh one was started."""

    def lines(self) -> list[str]:
        out = []
        if self.catalog_reset:
            out.append(f"the catalog was damaged: moved to {self.catalog_reset}; ingest your "
                       "folders again to rebuild it (chunks already embedded are reused)")
        if self.store_reset:
            out.append(f"the vector store was damaged: moved to {self.store_reset}; "
                       "`rag ingest` your folders again to embed the documents anew")
        out += [f"rolled back an interrupted write of {s}" for s in self.rolled_back]
        if self.orphan_chunks:
            out.append(f"deleted {self.orphan_chunks} chunks that no indexed document owns")
        if self.orphans_kept:
            out.append(f"{self.orphans_kept} chunks on the server belong to no indexed "
                       "document; kept, as another machine may be writing them: run `rag "
                       "doctor --sweep` when no one else is ingesting, to delete them")
        out += [f"{s} has chunks missing: the next `rag ingest` of it writes it again"
                for s in self.missing]
        return out or ["the index is consistent"]


def _gone(source: str) -> bool:
    """Whether an indexed file is no longer there. A file the folder walk did not reach is
    not enough: it may sit in a hidden folder (an upload in .rag/uploads, a file ingested
    by name) or in a folder that cannot be listed. Unsure (no permission) counts as there."""
    try:
        os.stat(source)
    except (FileNotFoundError, NotADirectoryError):
        return True
    except OSError:
        return False
    return False


def _set_aside(path: Path) -> str:
    """Rename a damaged file or folder out of the way; returns where it went."""
    aside = path.with_name(f"{path.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
    path.rename(aside)
    return str(aside)


@dataclass(frozen=True)
class _Pending:
    path: Path
    source: str
    chunks: int
    is_new: bool


class _ProgressReport:
    """Progress of the chunks written: a tqdm bar on a terminal, a line on stderr every
    `LOG_EVERY` chunks otherwise (`bar=None`), nothing with `bar=False`; plus the
    caller's callback in every case."""

    def __init__(self, total: int, bar: bool | None, callback: Progress | None) -> None:
        self.total, self.done, self.logged = total, 0, 0
        self.callback = callback
        self.started = time.perf_counter()
        self.bar = None
        self.lines = bar is None and not sys.stderr.isatty()
        if total and (bar or (bar is None and sys.stderr.isatty())):
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="chunk", desc="Embedding", file=sys.stderr)

    def advance(self, n: int) -> None:
        self.done += n
        if self.bar is not None:
            self.bar.update(n)
        elif self.lines and (self.done - self.logged >= LOG_EVERY or self.done == self.total):
            self.logged = self.done
            rate = self.done / max(time.perf_counter() - self.started, 1e-9)
            print(f"Embedding: {self.done:,}/{self.total:,} chunks "
                  f"({self.done / max(self.total, 1):.0%}), {rate:,.0f} chunks/s",
                  file=sys.stderr, flush=True)
        if self.callback:
            self.callback(self.done, self.total)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


class Index:
    """One index directory: a Chroma store of chunks plus the catalog of documents."""

    def __init__(self, directory: Path, embedder: Embedder | None = None,
                 chunk_size: int = splitter.DEFAULT_CHUNK_SIZE,
                 chunk_overlap: int = splitter.DEFAULT_CHUNK_OVERLAP,
                 chroma_url: str | None = None,
                 chroma_headers: dict[str, str] | None = None) -> None:
        """On disk under `directory`; or, with `chroma_url`, on that Chroma server, with
        only a replica of the catalog (a cache) under `directory`."""
        splitter.validate(chunk_size, chunk_overlap)
        self.directory = Path(directory)
        self.embedder = embedder or MiniLMEmbedder()
        self.chunk_size = chunk_size
        self.chunk_overlap = chunk_overlap
        self.catalog: Catalog | RemoteCatalog
        if chroma_url:
            from index.remote import RemoteCatalog

            self.store = ChunkStore(url=chroma_url, headers=chroma_headers)
            name = hashlib.sha256(chroma_url.encode()).hexdigest()[:12]
            self.catalog = RemoteCatalog(self.store, self.directory / f"replica-{name}.sqlite3")
        else:
            self.store = ChunkStore(self.directory / "chroma")
            self.catalog = Catalog(self.directory / "catalog.sqlite3")
        self._keywords_checked = False

    @property
    def exists(self) -> bool:
        """Whether there is an index to look at (without creating one by looking)."""
        return self.store.url is not None or self.directory.exists()

    @property
    def chunking(self) -> str:
        return f"sentences/{self.chunk_size}/{self.chunk_overlap}"

    def recorded_chunking(self) -> tuple[int, int] | None:
        """(chunk size, overlap) that most indexed documents were cut with, or None (no
        documents yet, or cut another way)."""
        if not self.exists:
            return None
        found = re.fullmatch(r"sentences/(\d+)/(\d+)", self.catalog.chunking_in_use() or "")
        return (int(found[1]), int(found[2])) if found else None

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
        with self.writing():
            self.repair()
            self._heal()
            return self._ingest(roots, started, progress, progress_bar)

    def _ingest(self, roots: list[Path], started: float, progress: Progress | None,
                progress_bar: bool | None) -> IngestReport:
        # First pass: what changed, and how many chunks that makes (for the progress
        # total). Nothing is kept but counts: the second pass reads each file again.
        unchanged, skipped = [], []
        pending: list[_Pending] = []
        present: set[str] = set()
        for path in loaders.collect(roots):
            source = str(path.resolve())
            present.add(source)
            known = self.catalog.fingerprint(source)
            data = None
            if known is not None:
                with contextlib.suppress(loaders.LoadError):  # `_load` reports it below
                    data = loaders.read(path)
                if data is not None and known == (hashlib.sha256(data).hexdigest(),
                                                  self.chunking):
                    unchanged.append(source)  # known from its bytes: not parsed again
                    continue
            doc = self._load(path, source, skipped, data)
            data = None
            if doc is None:
                continue
            count = sum(1 for _ in splitter.chunk_spans(doc, self.chunk_size,
                                                         self.chunk_overlap))
            pending.append(_Pending(path, source, count, is_new=known is None))
            del doc

        self._ensure_keywords()
        added, updated = [], []
        report = _ProgressReport(sum(item.chunks for item in pending), progress_bar, progress)
        written = 0
        try:
            for item in pending:
                doc = self._load(item.path, item.source, skipped)
                if doc is None:
                    continue
                written += self._write(doc, report)
                (added if item.is_new else updated).append(item.source)
        finally:
            report.close()

        removed = []
        for root in roots:
            if root.is_dir():
                prefix = str(root.resolve()).rstrip(os.sep) + os.sep
                for source in self.catalog.sources():
                    if source.startswith(prefix) and source not in present and _gone(source):
                        self._remove(source)
                        removed.append(source)

        return IngestReport(
            added=tuple(added), updated=tuple(updated), unchanged=tuple(unchanged),
            removed=tuple(removed), skipped=tuple(skipped), chunks_written=written,
            total_chunks=self.store.count(), seconds=time.perf_counter() - started,
        )

    def _load(self, path: Path, source: str, skipped: list[SkippedFile],
              data: bytes | None = None) -> SourceDocument | None:
        try:
            return loaders.load(path, data)
        except Exception as exc:  # noqa: BLE001 - one bad file must not stop the rest
            # LoadError says why in words; anything else is a parser failing on a damaged
            # file (pypdf raises AttributeError, AssertionError, LimitReachedError...).
            reason = (str(exc) if isinstance(exc, loaders.LoadError)
                      else f"could not be read ({type(exc).__name__}: {exc})")
            if self.catalog.fingerprint(source):
                reason += "; the previously indexed version is kept"
            skipped.append(SkippedFile(str(path), reason))
            return None

    def _write(self, doc: SourceDocument, report: _ProgressReport) -> int:
        """Store one document batch by batch; returns how many chunks it has."""
        # Spans are small; chunks (with their text) exist one batch at a time.
        spans = list(splitter.chunk_spans(doc, self.chunk_size, self.chunk_overlap))
        ids: set[str] = set()
        self.catalog.begin(doc.source)
        for begin in range(0, len(spans), WRITE_BATCH):
            batch = [splitter.make_chunk(doc, start, end, begin + offset) for offset, (start, end)
                     in enumerate(spans[begin:begin + WRITE_BATCH])]
            stored = self.store.existing([c.id for c in batch])
            fresh = [c for c in batch if c.id not in stored]
            if fresh:
                self.store.upsert(fresh, self.embedder.embed_documents([c.text for c in fresh]))
            self.catalog.add_chunks(batch)
            ids.update(c.id for c in batch)
            report.advance(len(batch))
        # Old versions' chunks, found a page at a time: a 185,000-chunk file would
        # otherwise hold three sets of every id at once.
        stale = self.catalog.chunk_ids(doc.source, unless=ids)
        self.catalog.put(doc, self.chunking, ids)
        self.store.delete(stale | self.store.ids_for_source(doc.source, unless=ids))
        self.catalog.finish(doc.source)
        return len(ids)

    def remove(self, source: str) -> int:
        """Drop one document and its chunks; returns how many chunks went."""
        with self.writing():
            return self._remove(source)

    def _remove(self, source: str) -> int:
        self.catalog.begin(source)
        self.catalog.remove(source)  # from here on nothing of it is found
        count = self.store.delete_source(source)
        self.catalog.finish(source)
        return count

    def keyword_search(self, query: str, n: int) -> list[Chunk]:
        """The `n` chunks whose words best match `query` (BM25), best first."""
        self._ensure_keywords()
        return self.store.get(self.catalog.keyword_search(query, n))

    def vector_search(self, vector: list[float], k: int) -> list[tuple[Chunk, float]]:
        """The `k` nearest chunks of recorded documents, with their cosine similarity."""
        self._ensure_keywords()  # the record of which chunks are committed lives there
        found = self.store.query(vector, k)
        committed = self.catalog.committed([chunk.id for chunk, _ in found])
        return [(chunk, similarity) for chunk, similarity in found if chunk.id in committed]

    # Consistency -------------------------------------------------------------

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """Hold the index's writer lock: threads of this process wait their turn; another
        process gets a `StoreError` that says who holds it."""
        with _THREAD_LOCKS_GUARD:
            key = str(self.directory.resolve())
            lock = _THREAD_LOCKS.setdefault(key, threading.Lock())
        with lock:
            import fcntl

            try:
                self.directory.mkdir(parents=True, exist_ok=True)
                handle = open(self.directory / "write.lock", "a+")  # noqa: SIM115
            except OSError as exc:
                raise StoreError(read_only_message(self.directory, exc.strerror or "")) from exc
            with handle:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    handle.seek(0)
                    holder = handle.read().strip() or "another process"
                    raise StoreError(
                        f"another process ({holder}) is adding or removing documents in "
                        f"{self.directory}; wait for it to finish, then try again") from None
                handle.seek(0)
                handle.truncate()
                handle.write(f"pid {os.getpid()}")
                handle.flush()
                try:
                    yield
                finally:
                    fcntl.flock(handle, fcntl.LOCK_UN)

    def repair(self) -> list[str]:
        """Undo the writes a kill interrupted (call while `writing`); returns their
        sources. The recorded version of each stays; the new chunks stay in the vector
        store, unsearchable, so a re-ingest resumes from them, unless the file is gone."""
        undone = []
        for source in self.catalog.pending():
            uncommitted = self.catalog.rollback(source)
            # Nothing uncommitted: the catalog's part was done (a new version recorded, or
            # the document removed) and only the vector store's clean-up was cut short.
            if not uncommitted or not Path(source).exists():
                self.store.delete(self.store.ids_for_source(source)
                                  - self.catalog.chunk_ids(source))
            self.catalog.finish(source)
            undone.append(source)
        return undone

    def _heal(self) -> list[str]:
        """Documents whose chunks are missing from the vector store (deleted, emptied,
        restored from an older backup) are marked so that this ingest writes them again.
        A count decides whether to look (50 ms at a million chunks)."""
        if self.store.count() >= self.catalog.committed_count():
            return []
        missing = []
        for source, expected in self.catalog.chunk_counts().items():
            if len(self.store.ids_for_source(source)) < expected:
                self.catalog.invalidate(source)
                missing.append(source)
        return missing

    def doctor(self, sweep: bool | None = None) -> Checkup:
        """Check the index and put right what drifted: interrupted writes, chunks no
        document owns, documents with chunks missing, a catalog that cannot be read.

        Chunks no document owns are deleted when `sweep` is true; by default, only from
        a store on disk. On a Chroma server, writers on other machines do not share this
        process's lock, and the chunks of a document they are writing have no record yet.
        """
        if sweep is None:
            sweep = self.store.url is None
        checkup = Checkup()
        with self.writing():
            try:
                self.catalog.sources()
            except StoreError:
                if self.store.url is not None:
                    raise
                checkup.catalog_reset = self._reset_catalog()
            try:
                self.store.is_empty()
            except StoreError as exc:
                if self.store.url is not None or not damaged(exc.__cause__ or exc):
                    raise
                checkup.store_reset = self._reset_store()
            checkup.rolled_back = self.repair()
            # An index from before the keyword index: until its chunks are recorded there,
            # every chunk would look unowned below and be deleted.
            self._ensure_keywords()
            checkup.missing = self._heal()
            if checkup.catalog_reset:
                return checkup  # the chunks are kept: the re-ingest reuses them
            orphans: list[str] = []
            for page in self.store.id_pages():
                committed = self.catalog.committed(page)
                orphans += [i for i in page if i not in committed]
            if sweep:
                self.store.delete(orphans)  # after the scan: deleting would shift its pages
                checkup.orphan_chunks = len(orphans)
            else:
                checkup.orphans_kept = len(orphans)
        return checkup

    def _reset_store(self) -> str:
        from chromadb.api.shared_system_client import SharedSystemClient

        path = Path(self.store.path)
        aside = _set_aside(path)
        SharedSystemClient.clear_system_cache()  # Chroma caches the broken one by path
        self.store = ChunkStore(path)
        return aside

    def _reset_catalog(self) -> str:
        path = Path(self.catalog.path)
        self.catalog.close()
        aside = _set_aside(path)
        self.catalog = Catalog(path)
        return aside

    def _ensure_keywords(self) -> None:
        """Indexes made before the keyword index lived in the catalog get one, once."""
        if self._keywords_checked:
            return
        if self.catalog.keyword_count() == 0 and self.catalog.sources():
            for page in self.store.pages():
                self.catalog.add_chunks(page, committed=True)
        self._keywords_checked = True
