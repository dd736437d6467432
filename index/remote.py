"""The catalog on a Chroma server, for several app processes sharing one index.

With `RAG_CHROMA_URL` set, the server is the one source of truth: chunks and vectors
in the `rag_chunks` collection as always, and each document's catalog record (hash,
chunking, title, ...) and full text (for citations) in a second collection,
`rag_documents`, with a generation record that changes on every write.

Each app process keeps a replica on its own disk: an ordinary `Catalog` (documents and
the FTS5 keyword index). Before it reads, it compares the server's generation with the
one it last synced (one small request, at most every `SYNC_INTERVAL` seconds) and, if
they differ, fetches the documents whose hash changed and drops the ones that are
gone. The replica is a cache that can be deleted at any time; it is rebuilt from the
server. Writes go to the server first (chunks, then the text, then the document
record, then the generation), then to the replica.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time
from collections.abc import Iterable
from pathlib import Path

from index.catalog import Catalog
from index.store import ChunkStore, StoreError, open_client
from index.types import Chunk, DocumentInfo, SourceDocument

COLLECTION = "rag_documents"
PART_CHARS = 4_000_000
"""A document's text is stored in parts of at most this many characters."""
GENERATION = "generation"
SYNC_INTERVAL = 0.25
"""Seconds during which a replica that was just checked is trusted without asking."""
_PAGE = 1000
_FETCH_PARTS = 4
"""Text parts read from the server per request (16 MB)."""
_NO_VECTOR = [1.0]
"""Records of this collection are found by id and metadata, never by similarity."""


def _key(source: str) -> str:
    return hashlib.sha256(source.encode()).hexdigest()[:32]


def _text_id(key: str, version: str | None, number: int) -> str:
    """The id of part `number` of a document's text (`version`: None before versions)."""
    return f"text:{key}:{version}:{number}" if version else f"text:{key}:{number}"


class RemoteCatalog:
    """The `Catalog` interface over a Chroma server, read through a local replica."""

    def __init__(self, store: ChunkStore, replica: Path) -> None:
        self.store = store
        self.replica = Catalog(replica)
        self._collection = None
        self._lock = threading.Lock()
        self._checked = 0.0

    @property
    def collection(self):
        with self._lock:
            if self._collection is None:
                client = open_client(url=self.store.url, headers=self.store.headers)
                try:
                    self._collection = client.get_or_create_collection(
                        COLLECTION, embedding_function=None)
                except Exception as exc:  # connection, auth, server errors
                    raise StoreError(f"cannot open the document records at {self.store.url}:"
                                     f" {exc}") from exc
            return self._collection

    # Reads: from the replica, once it is in step with the server ---------------

    def has_documents(self) -> bool:
        self.sync()
        return self.replica.has_documents()

    def document_count(self) -> int:
        self.sync()
        return self.replica.document_count()

    def chunking_in_use(self) -> str | None:
        self.sync()
        return self.replica.chunking_in_use()

    def sources(self) -> list[str]:
        self.sync()
        return self.replica.sources()

    def documents(self) -> list[DocumentInfo]:
        self.sync()
        return self.replica.documents()

    def document(self, source: str) -> SourceDocument | None:
        self.sync()
        return self.replica.document(source)

    def info(self, source: str) -> DocumentInfo | None:
        self.sync()
        return self.replica.info(source)

    def text_window(self, source: str, start: int, end: int) -> tuple[str, int, int] | None:
        self.sync()
        return self.replica.text_window(source, start, end)

    def keyword_search(self, query: str, n: int) -> list[str]:
        self.sync()
        return self.replica.keyword_search(query, n)

    def keyword_count(self) -> int:
        self.sync()
        return self.replica.keyword_count()

    def chunk_ids(self, source: str, unless: set[str] | frozenset[str] = frozenset()
                  ) -> set[str]:
        return self.replica.chunk_ids(source, unless)

    def committed(self, ids: list[str]) -> set[str]:
        self.sync()
        return self.replica.committed(ids)

    def committed_count(self) -> int:
        self.sync()
        return self.replica.committed_count()

    def chunk_counts(self) -> dict[str, int]:
        self.sync()
        return self.replica.chunk_counts()

    # The journal of interrupted writes is this process's own (in its replica).

    def begin(self, source: str) -> None:
        self.replica.begin(source)

    def pending(self) -> list[str]:
        return self.replica.pending()

    def finish(self, source: str) -> None:
        self.replica.finish(source)

    def rollback(self, source: str) -> int:
        return self.replica.rollback(source)

    def invalidate(self, source: str) -> None:
        self.replica.invalidate(source)

    @property
    def read_only(self) -> bool:
        return self.replica.read_only

    def fingerprint(self, source: str) -> tuple[str, str] | None:
        """What the server holds for `source` (not the replica: another process may
        have indexed it since)."""
        found = self.collection.get(ids=[f"doc:{_key(source)}"], include=["metadatas"])
        if not found["ids"]:
            return None
        meta = found["metadatas"][0]
        return str(meta["sha256"]), str(meta["chunking"])

    def generation(self) -> int:
        found = self.collection.get(ids=[GENERATION], include=["metadatas"])
        return int(found["metadatas"][0]["value"]) if found["ids"] else 0

    # Writes: server first, then the replica -------------------------------------

    def add_chunks(self, chunks: Iterable[Chunk], committed: bool = False) -> None:
        self.replica.add_chunks(chunks, committed)  # the chunks are on the server already

    def put(self, doc: SourceDocument, chunking: str, chunk_ids: set[str]) -> None:
        # The new text goes under ids of its own version, then the record that points to
        # it, then the old version goes: a failure part-way leaves the record pointing at
        # a whole text, the old or the new.
        key = _key(doc.source)
        version = hashlib.sha256(doc.text.encode()).hexdigest()[:16]  # the text, not the file
        parts = range(0, len(doc.text), PART_CHARS)
        for number, start in enumerate(parts):
            self.collection.upsert(
                ids=[_text_id(key, version, number)],
                documents=[doc.text[start:start + PART_CHARS]], embeddings=[_NO_VECTOR],
                metadatas=[{"record": "text", "source": doc.source, "part": number,
                            "version": version}])
        meta = {"record": "document", "source": doc.source, "sha256": doc.sha256,
                "chunking": chunking, "title": doc.title, "kind": doc.kind,
                "chunk_count": len(chunk_ids), "indexed_at": time.time(),
                "body_start": doc.body_start, "page_starts": json.dumps(list(doc.page_starts)),
                "hard_wrapped": doc.hard_wrapped, "parts": len(parts),
                "text_version": version}
        if doc.date:
            meta["date"] = doc.date
        self.collection.upsert(ids=[f"doc:{key}"], documents=[doc.title],
                               embeddings=[_NO_VECTOR], metadatas=[meta])
        self._delete_text(doc.source, keep=version)
        self._bump()
        self.replica.put(doc, chunking, chunk_ids)

    def remove(self, source: str) -> None:
        self.collection.delete(ids=[f"doc:{_key(source)}"])
        self._delete_text(source)
        self._bump()
        self.replica.remove(source)

    def close(self) -> None:
        self.replica.close()

    # Keeping the replica in step ------------------------------------------------

    def sync(self, force: bool = False) -> None:
        """Bring the replica in step with the server if anything changed there."""
        now = time.monotonic()
        if not force and now - self._checked < SYNC_INTERVAL:
            return
        server = self.generation()
        if server == self.replica_generation():
            self._checked = now
            return
        records = self._document_records()
        for source in set(self.replica.sources()) - records.keys():
            self.replica.remove(source)
        for source, meta in records.items():
            if self.replica.fingerprint(source) != (meta["sha256"], meta["chunking"]):
                self._fetch(meta)
        self.replica.set_meta("server_generation", str(server))
        self._checked = now

    def replica_generation(self) -> int | None:
        """The server's generation the replica was last brought in step with."""
        value = self.replica.meta("server_generation")
        return int(value) if value is not None else None

    def _document_records(self) -> dict[str, dict]:
        records: dict[str, dict] = {}
        for offset in range(0, 1 << 62, _PAGE):
            page = self.collection.get(where={"record": "document"}, include=["metadatas"],
                                       limit=_PAGE, offset=offset)
            for meta in page["metadatas"]:
                records[str(meta["source"])] = meta
            if len(page["ids"]) < _PAGE:
                return records
        return records

    def _fetch(self, meta: dict) -> None:
        source = str(meta["source"])
        key = _key(source)
        version = meta.get("text_version")  # none in a record written before versions
        ids = [_text_id(key, version, n) for n in range(int(meta["parts"]))]
        text = []
        for begin in range(0, len(ids), _FETCH_PARTS):
            page = ids[begin:begin + _FETCH_PARTS]
            found = self.collection.get(ids=page, include=["documents"])
            parts = dict(zip(found["ids"], found["documents"], strict=True))
            if len(parts) != len(page):
                return  # replaced since its record was read: the next sync gets it
            text += [parts[i] for i in page]
        doc = SourceDocument(
            source=source, text="".join(text), title=str(meta["title"]),
            sha256=str(meta["sha256"]), kind=str(meta["kind"]), date=meta.get("date"),
            body_start=int(meta["body_start"]),
            page_starts=tuple(json.loads(str(meta["page_starts"]))),
            hard_wrapped=bool(meta["hard_wrapped"]))
        chunk_ids: set[str] = set()
        for chunks in self.store.pages_of(source):
            self.replica.add_chunks(chunks)
            chunk_ids.update(c.id for c in chunks)
        self.replica.put(doc, str(meta["chunking"]), chunk_ids)

    def _delete_text(self, source: str, keep: str | None = None) -> None:
        """Delete the stored text of `source`, except the parts of version `keep`."""
        stale = self.collection.get(where={"$and": [{"record": "text"}, {"source": source}]},
                                    include=["metadatas"])
        gone = [i for i, meta in zip(stale["ids"], stale["metadatas"], strict=True)
                if keep is None or meta.get("version") != keep]
        if gone:
            self.collection.delete(ids=gone)

    def _bump(self) -> None:
        self.collection.upsert(ids=[GENERATION], documents=[""], embeddings=[_NO_VECTOR],
                               metadatas=[{"record": "meta", "value": secrets.randbits(62)}])
