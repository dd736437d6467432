"""Chunks and their vectors in Chroma: upsert, delete by source, query, count.

Chroma runs embedded (`PersistentClient` on a folder, one process at a time) or as a
server (`HttpClient`, `chroma run`, for several app processes). We always hand Chroma
our own vectors: its default embedding function would try to download a model.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

from index.types import Chunk

COLLECTION = "rag_chunks"
_WRITE_BATCH = 1000


class StoreError(RuntimeError):
    """The vector store on disk cannot be opened or used."""


def read_only_message(folder: Path, why: str = "") -> str:
    """The one line for a write to an index that cannot be written."""
    because = f" ({why})" if why else ""
    return (f"the index at {folder} is read-only{because}; adding or removing documents "
            "needs write access to that folder")


def open_client(path: Path | None = None, url: str | None = None,
                headers: dict[str, str] | None = None):
    """A Chroma client: on the server at `url` if given, else on disk under `path`."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if url:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise StoreError(f"RAG_CHROMA_URL must look like http://host:port, got {url!r}")
        port = parts.port or (443 if parts.scheme == "https" else 8000)
        try:
            return chromadb.HttpClient(host=parts.hostname, port=port,
                                       ssl=parts.scheme == "https", headers=headers or None,
                                       settings=settings)
        except Exception as exc:  # connection refused, bad token, wrong server
            raise StoreError(f"cannot reach the Chroma server at {url}; start it (`chroma run"
                             " --path DIR --port PORT`) or fix RAG_CHROMA_URL") from exc
    assert path is not None
    try:
        Path(path).mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(path), settings=settings)
    except Exception as exc:  # chromadb raises many types for a bad directory
        raise StoreError(f"cannot open the vector store at {path}: {exc}{_hint(exc)}") from exc


_DAMAGE = ("not a database", "malformed", "corrupt", "disk image")


def damaged(exc: BaseException) -> bool:
    """Whether an error from Chroma says its files are damaged."""
    text = str(exc).lower()
    return any(word in text for word in _DAMAGE)


def _hint(exc: BaseException) -> str:
    return ("; run `rag doctor` to set it aside, then `rag ingest` your folders again"
            if damaged(exc) else "")


def _read_only(exc: BaseException, path: Path) -> bool:
    import os

    text = str(exc).lower().replace("-", "")
    return path.is_dir() and ("readonly" in text or not os.access(path, os.W_OK))


class ChunkStore:
    """The chunk collection, on disk under `path` or on the Chroma server at `url`,
    opened on first use."""

    def __init__(self, path: Path | None = None, url: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self.url, self.headers = url, headers
        self._collection = None
        self._lock = threading.Lock()
        self.read_only = False
        """Searching a private copy, because the folder on disk cannot be written."""

    @property
    def collection(self):
        with self._lock:
            if self._collection is None:
                self._collection = self._open()
            return self._collection

    def _open(self):
        try:
            client = open_client(self.path, self.url, self.headers)
        except StoreError as exc:
            if self.path is None or not _read_only(exc, self.path):
                raise
            client = self._snapshot()
        where = self.url or self.path
        try:
            return client.get_or_create_collection(
                COLLECTION, embedding_function=None, metadata={"hnsw:space": "cosine"}
            )
        except Exception as exc:  # chromadb raises many types for a bad store
            raise StoreError(f"cannot open the vector store at {where}: {exc}{_hint(exc)}"
                             ) from exc

    def _snapshot(self):
        """A client on a private copy of a read-only store (Chroma writes to its files
        even to read them, and has no read-only mode), removed when the process ends."""
        import atexit
        import shutil
        import tempfile

        assert self.path is not None
        copy = None
        try:
            copy = Path(tempfile.mkdtemp(prefix="rag-readonly-")) / "chroma"
            shutil.copytree(self.path, copy)
        except OSError as exc:  # shutil.Error too: a full disk, an unreadable file
            if copy is not None:
                shutil.rmtree(copy.parent, ignore_errors=True)  # or each retry leaves one
            raise StoreError(f"the vector store at {self.path} is read-only and a private "
                             f"copy to search could not be made in {tempfile.gettempdir()} "
                             f"({exc}): free space there, or set TMPDIR to a roomier "
                             f"folder") from exc
        atexit.register(shutil.rmtree, copy.parent, ignore_errors=True)
        self.read_only = True
        return open_client(copy)

    def upsert(self, chunks: list[Chunk], embeddings: list[list[float]]) -> None:
        if len(chunks) != len(embeddings):
            raise ValueError("one embedding per chunk is needed")
        for begin in range(0, len(chunks), _WRITE_BATCH):
            batch = chunks[begin:begin + _WRITE_BATCH]
            self.collection.upsert(
                ids=[c.id for c in batch],
                documents=[c.text for c in batch],
                metadatas=[c.metadata() for c in batch],
                embeddings=embeddings[begin:begin + _WRITE_BATCH],
            )

    def ids_for_source(self, source: str, unless: set[str] | frozenset[str] = frozenset()
                       ) -> set[str]:
        """Ids of the chunks of `source`, except those in `unless` (a page at a time, so
        only the answer is held: usually nothing, when `unless` is the current set)."""
        ids: set[str] = set()
        for offset in range(0, 1 << 62, _WRITE_BATCH):
            page = self.collection.get(where={"source": source}, include=[],
                                       limit=_WRITE_BATCH, offset=offset)["ids"]
            ids.update(i for i in page if i not in unless)
            if len(page) < _WRITE_BATCH:
                return ids
        return ids

    def existing(self, ids: list[str]) -> set[str]:
        """Which of `ids` are stored (an interrupted ingest resumes from them)."""
        found: set[str] = set()
        for begin in range(0, len(ids), _WRITE_BATCH):
            found.update(self.collection.get(ids=ids[begin:begin + _WRITE_BATCH],
                                             include=[])["ids"])
        return found

    def get(self, ids: list[str]) -> list[Chunk]:
        """The chunks with these ids, in the order given (unknown ids are left out)."""
        if not ids:
            return []
        records = self.collection.get(ids=list(ids), include=["documents", "metadatas"])
        found = {i: Chunk.from_record(i, t, m) for i, t, m in
                 zip(records["ids"], records["documents"], records["metadatas"])}
        return [found[i] for i in ids if i in found]

    def delete(self, ids: list[str] | set[str]) -> None:
        ids = list(ids)
        for begin in range(0, len(ids), _WRITE_BATCH):
            self.collection.delete(ids=ids[begin:begin + _WRITE_BATCH])

    def delete_source(self, source: str) -> int:
        ids = self.ids_for_source(source)
        self.delete(ids)
        return len(ids)

    def count(self) -> int:
        """How many chunks are stored (a scan: 50 ms at a million; see `is_empty`)."""
        return self.collection.count()

    def is_empty(self) -> bool:
        return not self.collection.get(limit=1, include=[])["ids"]

    def pages(self, size: int = _WRITE_BATCH) -> Iterator[list[Chunk]]:
        """Every stored chunk, `size` at a time, in no particular order."""
        return self._pages(None, size)

    def pages_of(self, source: str, size: int = _WRITE_BATCH) -> Iterator[list[Chunk]]:
        """The chunks of one document, `size` at a time."""
        return self._pages({"source": source}, size)

    def id_pages(self, size: int = 5000) -> Iterator[list[str]]:
        """Every stored chunk id, `size` at a time (do not delete while paging)."""
        for offset in range(0, 1 << 62, size):
            ids = self.collection.get(include=[], limit=size, offset=offset)["ids"]
            if ids:
                yield ids
            if len(ids) < size:
                return

    def _pages(self, where: dict | None, size: int) -> Iterator[list[Chunk]]:
        for offset in range(0, 1 << 62, size):
            records = self.collection.get(where=where, include=["documents", "metadatas"],
                                          limit=size, offset=offset)
            page = [Chunk.from_record(i, t, m) for i, t, m in
                    zip(records["ids"], records["documents"], records["metadatas"])]
            if page:
                yield page
            if len(page) < size:
                return

    def query(self, embedding: list[float], k: int) -> list[tuple[Chunk, float]]:
        """The `k` nearest chunks with their cosine similarity, best first."""
        # No count() first: at a million chunks it costs 50 ms, and Chroma returns fewer
        # results by itself when the collection holds fewer than k.
        result = self.collection.query(
            query_embeddings=[embedding], n_results=k,
            include=["documents", "metadatas", "distances"],
        )
        return [
            (Chunk.from_record(i, t, m), 1.0 - d)
            for i, t, m, d in zip(result["ids"][0], result["documents"][0],
                                  result["metadatas"][0], result["distances"][0])
        ]
