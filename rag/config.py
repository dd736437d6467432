"""Settings: the one place that reads the environment (`RAG_*`) and holds defaults.

Build one `Settings` at the edge (CLI, UI, `Assistant()`), then pass plain values
down. Every field can be set as a keyword or as `RAG_<FIELD>` in the environment,
for example `RAG_INDEX_DIR=/data/index` or `RAG_BACKEND=extractive`.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal, get_args

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from rag.errors import ConfigError

Backend = Literal["local", "extractive", "openai", "ollama"]
BACKENDS: tuple[str, ...] = get_args(Backend)


def _default_cache_dir() -> Path:
    return Path.home() / ".cache" / "rag-assistant"


class Settings(BaseSettings):
    """Everything that can be configured, with the defaults a first run needs."""

    model_config = SettingsConfigDict(env_prefix="RAG_", env_nested_delimiter="__",
                                      extra="forbid", validate_default=True)

    index_dir: Path = Field(Path(".rag"), description="Where the index lives.")
    chroma_url: str | None = Field(
        None, description="A Chroma server (`http://host:port`) to keep the index on, "
        "shared by every app process that points at it; `index_dir` then holds only a "
        "cache of its catalog.")
    chroma_headers: dict[str, str] | None = Field(
        None, description="HTTP headers for that server, as JSON (for a token that a "
        "proxy in front of Chroma checks).")
    chunk_size: int = Field(400, description="Largest chunk, in characters.")
    chunk_overlap: int = Field(120, description="Characters of whole sentences repeated "
                                                 "between neighbouring chunks.")
    k: int = Field(6, ge=1, le=50, description="Chunks retrieved per question (dense + "
                                                "keyword search, fused).")
    context_sentences: int = Field(5, ge=0, le=50, description="Best-matching sentences of "
                                   "those chunks given to the model; 0 gives whole chunks.")
    context_neighbours: int = Field(0, ge=0, le=10, description="The sentences just before "
                                    "and after this many of the best sentences are given "
                                    "too.")
    guess_below: float = Field(0.4, ge=0.0, le=1.0, description="When the best of those "
                               "sentences matches the question below this score, the model "
                               "writes the sentence it expects the answer in and that is "
                               "searched too (for questions asked in other words than the "
                               "documents'); 0: never.")
    backend: Backend = Field("local", description="Who writes the answer.")
    abstain_below: float = Field(0.5, ge=0.0, le=1.0, description="Decline when the chance "
                                 "that the answer is right is below this.")
    calibration_path: Path | None = Field(None, description="Fitted decision models "
                                          "(`rag calibrate`); default: the bundled ones.")
    model_path: Path | None = Field(None, description="A GGUF model for the local backend; "
                                                       "default: the bundled Qwen2.5 1.5B.")
    model_cache_dir: Path = Field(default_factory=_default_cache_dir,
                                  description="Where the bundled model is assembled.")
    threads: int = Field(2, ge=1, le=256, description="CPU threads for the local model.")
    context_window: int = Field(4096, ge=512, description="Context size of the local model.")
    repack_weights: bool = Field(
        False, description="Let llama.cpp repack the local model's weights for this CPU at "
        "load: faster token by token, slower to load and to read a prompt (see bench/).")
    max_tokens: int = Field(200, ge=16, le=4096, description="Longest answer, in tokens.")
    temperature: float = Field(0.0, ge=0.0, le=2.0)

    openai_base_url: str = Field("http://127.0.0.1:8000/v1",
                                 description="OpenAI-compatible server for the openai backend.")
    openai_model: str = Field("local-model", description="Model name sent to that server.")
    openai_api_key: SecretStr = Field(SecretStr("not-needed"),
                                      description="API key for that server, if it needs one.")
    ollama_base_url: str = Field("http://127.0.0.1:11434", description="Ollama server.")
    ollama_model: str = Field("qwen2.5:1.5b-instruct", description="Ollama model name.")
    request_timeout: float = Field(60.0, gt=0, description="Seconds to wait for a server.")

    ui_auth: str | None = Field(None, description="`user:password` to require a login in the UI.")
    ui_allowed_hosts: str = Field(
        "", description="Comma-separated host names the UI answers to besides loopback and "
        "the address it binds (requests for any other name are refused, against DNS "
        "rebinding).")
    ui_max_upload_mb: int = Field(20, ge=1, description="Largest file the UI accepts.")
    ui_concurrency: int | None = Field(
        None, ge=1, description="Questions the UI and `/ask` work on at once (default: 2 for "
        "the local backend, whose model generates one answer at a time, 8 for a server).")
    ui_unread_per_client: int = Field(
        16, ge=1, description="Questions one address may have queued without reading their "
        "answers; more are refused as busy, so a client that never reads cannot fill the "
        "queue (half of `ui_queue_size` by default: people behind one proxy share an "
        "address).")
    ui_queue_size: int = Field(32, ge=1, description="Questions that may wait in the queue; "
                               "beyond that the UI says it is busy.")

    @property
    def answer_concurrency(self) -> int:
        if self.ui_concurrency is not None:
            return self.ui_concurrency
        return 2 if self.backend in ("local", "extractive") else 8

    def __init__(self, **values) -> None:
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise ConfigError(_describe(exc)) from None

    @field_validator("index_dir", "model_cache_dir", "model_path", "calibration_path",
                     mode="before")
    @classmethod
    def _not_blank(cls, value: object, info) -> object:
        """An empty path would be read as the current folder ("RAG_INDEX_DIR=" would put
        the index wherever the command runs): the optional ones fall back to their default,
        the others are refused."""
        if isinstance(value, str) and not value.strip():
            if info.field_name in ("model_path", "calibration_path"):
                return None
            raise ValueError("is empty: set it to a folder, or unset it for the default")
        return value

    @field_validator("index_dir", "model_cache_dir", "model_path", "calibration_path")
    @classmethod
    def _expand(cls, value: Path | None) -> Path | None:
        return value.expanduser() if value is not None else None

    @field_validator("ui_auth")
    @classmethod
    def _auth_shape(cls, value: str | None) -> str | None:
        if value is not None and (":" not in value or value.startswith(":")):
            raise ValueError("must look like user:password")
        if value is not None and not value.split(":", 1)[1]:
            raise ValueError("the password is empty; set RAG_UI_AUTH=user:password with a "
                             "password")
        return value

    @model_validator(mode="after")
    def _chunking(self) -> Settings:
        if self.chunk_size < 50:
            raise ValueError(f"chunk_size (RAG_CHUNK_SIZE, --chunk-size) must be at least 50, "
                             f"got {self.chunk_size}")
        if not 0 <= self.chunk_overlap < self.chunk_size:
            raise ValueError(f"chunk_overlap (RAG_CHUNK_OVERLAP, --chunk-overlap) must be from "
                             f"0 to below chunk_size ({self.chunk_size}), got "
                             f"{self.chunk_overlap}")
        return self


def _describe(exc: ValidationError) -> str:
    """One line per problem, naming the setting and its environment variable."""
    lines = []
    for error in exc.errors():
        field = ".".join(str(part) for part in error["loc"]) or "settings"
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "literal_error" and field == "backend":
            message = f"unknown backend {error['input']!r}; choose one of: {', '.join(BACKENDS)}"
        elif error["type"] == "extra_forbidden":
            message = "unknown setting"
        if field == "settings":  # a rule across fields: its message names them
            lines.append(f"Invalid settings: {message}")
        else:
            lines.append(f"Invalid setting {field} (RAG_{field.upper()}): {message}")
    return "; ".join(lines)


def unknown_environment(environ: Mapping[str, str] | None = None) -> list[str]:
    """`RAG_*` variables that set nothing (pydantic-settings passes over them), each with
    the setting it probably meant: a misspelt `RAG_CONTEXT_NEIGHBORS=2` would otherwise be
    ignored without a word."""
    environ = os.environ if environ is None else environ
    known = {f"RAG_{name.upper()}" for name in Settings.model_fields}
    lines = []
    for name in sorted(environ):
        if name.startswith("RAG_") and name.split("__")[0] not in known:
            close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.75)
            hint = f" (did you mean {close[0]}?)" if close else ""
            lines.append(f"{name} is not a setting and is ignored{hint}")
    return lines
