"""Question answering over your documents, with citations to the exact words.

    from rag import Assistant, Settings
    assistant = Assistant(Settings(index_dir=".rag"))
    assistant.ingest(["corpus/"])
    print(assistant.ask("How many warships did Russia send to the Black Sea?").text)

`Assistant` is imported on first use, so that `rag --help` and code that only reads
settings or errors do not pay for LangChain and the models' libraries.
"""

from typing import TYPE_CHECKING

from index.types import DocumentInfo, IngestReport, SkippedFile
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

if TYPE_CHECKING:
    from rag.assistant import Assistant


def __getattr__(name: str):
    if name == "Assistant":
        from rag.assistant import Assistant

        return Assistant
    raise AttributeError(f"module 'rag' has no attribute {name!r}")


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
