"""Chunks and their vectors in Chroma, on disk: upsert, delete by source, query, count.

We always hand Chroma our own vectors: its default embedding function would try to
download a model.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

from index.types import Chunk

COLLECTION = "rag_chunks"
_WRITE_BATCH = 1000


class StoreError(RuntimeError):
    """The vector store on disk cannot be opened or used."""


class ChunkStore:
    """A Chroma `PersistentClient` collection under `path`, opened on first use."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._collection = None
        self._lock = threading.Lock()

    @property
    def collection(self):
        with self._lock:
            if self._collection is None:
                self._collection = self._open()
            return self._collection

    def _open(self):
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        try:
            self.path.mkdir(parents=True, exist_ok=True)
            client = chromadb.PersistentClient(
                path=str(self.path),
                settings=ChromaSettings(anonymized_telemetry=False, allow_reset=False),
            )
            return client.get_or_create_collection(
                COLLECTION, embedding_function=None, metadata={"hnsw:space": "cosine"}
            )
        except Exception as exc:  # chromadb raises many types for a bad directory
            raise StoreError(f"cannot open the vector store at {self.path}: {exc}") from exc

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

    def ids_for_source(self, source: str) -> set[str]:
        ids: set[str] = set()
        for offset in range(0, 1 << 62, _WRITE_BATCH):
            page = self.collection.get(where={"source": source}, include=[],
                                       limit=_WRITE_BATCH, offset=offset)["ids"]
            ids.update(page)
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
        return self.collection.count()

    def pages(self, size: int = _WRITE_BATCH) -> Iterator[list[Chunk]]:
        """Every stored chunk, `size` at a time, in no particular order."""
        for offset in range(0, 1 << 62, size):
            records = self.collection.get(include=["documents", "metadatas"],
                                          limit=size, offset=offset)
            page = [Chunk.from_record(i, t, m) for i, t, m in
                    zip(records["ids"], records["documents"], records["metadatas"])]
            if page:
                yield page
            if len(page) < size:
                return

    def query(self, embedding: list[float], k: int) -> list[tuple[Chunk, float]]:
        """The `k` nearest chunks with their cosine similarity, best first."""
        total = self.count()
        if total == 0:
            return []
        result = self.collection.query(
            query_embeddings=[embedding], n_results=min(k, total),
            include=["documents", "metadatas", "distances"],
        )
        return [
            (Chunk.from_record(i, t, m), 1.0 - d)
            for i, t, m, d in zip(result["ids"][0], result["documents"][0],
                                  result["metadatas"][0], result["distances"][0])
        ]
