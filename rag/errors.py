"""Errors whose `str()` is written for the person using the assistant.

    RagError
     ├── ConfigError          a setting has a value we cannot use (also a ValueError)
     ├── InputError           a question or argument is unusable (also a ValueError)
     ├── PathNotFoundError    a file or folder to ingest does not exist
     ├── EmptyIndexError      nothing is indexed yet
     ├── IndexUnavailableError  the index on disk cannot be opened
     ├── ModelUnavailableError  a model cannot be found, verified or loaded
     └── BackendError         a chat model server failed or did not answer

Third-party exceptions are translated where their library is called (`raise ... from
exc`), so the UI can show any `RagError` as it is and the CLI can print one line.
"""

from __future__ import annotations


class RagError(Exception):
    """Base class: the message is safe and useful to show to a user."""


class ConfigError(RagError, ValueError):
    pass


class InputError(RagError, ValueError):
    pass


class PathNotFoundError(RagError, FileNotFoundError):
    pass


class EmptyIndexError(RagError):
    def __init__(self, message: str = "No documents are indexed yet. Run `rag ingest <folder>` "
                 "first (or upload files in the UI).") -> None:
        super().__init__(message)


class IndexUnavailableError(RagError):
    pass


class ModelUnavailableError(RagError):
    pass


class BackendError(RagError):
    pass
