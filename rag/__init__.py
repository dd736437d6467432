"""Question answering over your documents, with citations to the exact words.

    from rag import Assistant, Settings
    assistant = Assistant(Settings(index_dir=".rag"))
    assistant.ingest(["corpus/"])
    print(assistant.ask("What are the exercises called?").text)
"""

from index.types import DocumentInfo, IngestReport, SkippedFile
from rag.assistant import Assistant
from rag.config import BACKENDS, Settings
from rag.errors import (
    BackendError,
    ConfigError,
    EmptyIndexError,
    IndexUnavailableError,
    InputError,
    ModelUnavailableError,
    PathNotFoundError,
    RagError,
)
from rag.types import Answer, Citation, Passage

__all__ = [
    "BACKENDS",
    "Answer",
    "Assistant",
    "BackendError",
    "Citation",
    "ConfigError",
    "DocumentInfo",
    "EmptyIndexError",
    "IndexUnavailableError",
    "IngestReport",
    "InputError",
    "ModelUnavailableError",
    "Passage",
    "PathNotFoundError",
    "RagError",
    "Settings",
    "SkippedFile",
]
