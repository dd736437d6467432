"""Indexing: documents in, sentence-aligned chunks with exact offsets, embedded into Chroma.

This package imports nothing else of ours; `rag` builds on it.
"""

from typing import TYPE_CHECKING

from index.loaders import LoadError
from index.types import Chunk, DocumentInfo, IngestReport, SkippedFile, SourceDocument

__all__ = ["Chunk", "DocumentInfo", "Index", "IngestReport", "LoadError", "SkippedFile",
           "SourceDocument"]

if TYPE_CHECKING:
    from index.pipeline import Index


def __getattr__(name: str):
    if name == "Index":  # the pipeline brings the embedder's libraries: load on first use
        from index.pipeline import Index

        return Index
    raise AttributeError(f"module 'index' has no attribute {name!r}")
