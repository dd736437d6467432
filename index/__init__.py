"""Indexing: documents in, sentence-aligned chunks with exact offsets, embedded into Chroma.

This package imports nothing else of ours; `rag` builds on it.
"""

from index.loaders import LoadError
from index.pipeline import Index
from index.types import Chunk, DocumentInfo, IngestReport, SkippedFile, SourceDocument

__all__ = ["Chunk", "DocumentInfo", "Index", "IngestReport", "LoadError", "SkippedFile",
           "SourceDocument"]
