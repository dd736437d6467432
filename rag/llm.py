"""Chat model backends: the only module that imports a model SDK.

- `local`: the bundled Qwen2.5 1.5B GGUF run in-process by llama-cpp-python, through
  LangChain's `ChatLlamaCpp`. Loaded once per process and shared.
- `openai`: any OpenAI-compatible server (llama.cpp server, vLLM, OpenAI itself).
- `ollama`: a model served by a local Ollama.

(`extractive` needs no chat model; see `rag.extractive`.) Errors from the SDKs are
translated into `BackendError`/`ModelUnavailableError` here, with what to do next.
"""

from __future__ import annotations

import atexit
import codecs
import contextlib
import ctypes
import functools
import math
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.runnables import Runnable

from rag.config import Settings
from rag.errors import BackendError, ModelUnavailableError
from rag.models import bundled_model_path

_local_models: dict[tuple, BaseChatModel] = {}
_local_lock = threading.Lock()
_model_locks: dict[int, threading.Lock] = {}
PROMPT_CACHE_BYTES = 256 << 20
"""llama.cpp states kept in memory (about 28 KB per token): with them the fixed system
prompts of answering and of rewriting follow-ups are evaluated once, not on every switch
between the two (measured: a follow-up's rewrite 6.9 s -> 2 s, its answer 17 s -> 11 s)."""


def model_path(settings: Settings) -> Path:
    """The GGUF the local backend runs: the configured one, or the bundled model."""
    if settings.model_path is not None:
        if not settings.model_path.is_file():
            raise ModelUnavailableError(
                f"No model file at {settings.model_path}; fix RAG_MODEL_PATH or unset it "
                "to use the bundled model."
            )
        return settings.model_path
    return bundled_model_path(settings.model_cache_dir)


def chat_model(settings: Settings) -> BaseChatModel:
    """The chat model for `settings.backend` (not `extractive`, which has none)."""
    if settings.backend == "local":
        return _local(settings)
    if settings.backend == "openai":
        from langchain_openai import ChatOpenAI

        return ChatOpenAI(
            base_url=settings.openai_base_url, model=settings.openai_model,
            api_key=settings.openai_api_key, temperature=settings.temperature,
            max_tokens=settings.max_tokens, timeout=settings.request_timeout, max_retries=1,
        )
    if settings.backend == "ollama":
        from langchain_ollama import ChatOllama

        return ChatOllama(
            base_url=settings.ollama_base_url, model=settings.ollama_model,
            temperature=settings.temperature, num_predict=settings.max_tokens,
            client_kwargs={"timeout": settings.request_timeout},
        )
    raise ValueError(f"backend {settings.backend!r} has no chat model")


def _local(settings: Settings) -> BaseChatModel:
    path = model_path(settings)
    key = (str(path), settings.threads, settings.context_window, settings.max_tokens,
           settings.temperature, settings.repack_weights)
    with _local_lock:
        if key not in _local_models:
            from langchain_community.chat_models import ChatLlamaCpp

            from llama_cpp import LlamaRAMCache

            try:
                with _weights_repacked(settings.repack_weights):
                    model = ChatLlamaCpp(
                        model_path=str(path), n_ctx=settings.context_window,
                        n_threads=settings.threads, n_batch=512, max_tokens=settings.max_tokens,
                        temperature=settings.temperature, top_k=1, seed=0, verbose=False,
                    )
            except (ValueError, RuntimeError, OSError) as exc:
                raise ModelUnavailableError(f"Cannot load the model {path}: {exc}") from exc
            model.client.set_cache(LlamaRAMCache(capacity_bytes=PROMPT_CACHE_BYTES))
            model.client.save_state = functools.partial(_save_state, model.client)
            _local_models[key] = model
            _model_locks[id(model)] = threading.Lock()
        return _local_models[key]


@contextlib.contextmanager
def _weights_repacked(repack: bool) -> Iterator[None]:
    """Load models with llama.cpp's CPU weight repacking on or off. `Llama()` takes no
    argument for it, so its default model parameters are swapped while one loads (under
    `_local_lock`, which every load here holds). Off by default: on this project's 2-core
    machine, off loads the model 0.44 s sooner and reads prompts 1.5x faster (238 vs 156
    tokens/s) for 1.3x slower generation (26 vs 34 tokens/s); answers are mostly prompt."""
    from llama_cpp import llama as llama_module

    library = llama_module.llama_cpp
    default = library.llama_model_default_params

    def params():
        chosen = default()
        chosen.use_extra_bufts = repack
        return chosen

    library.llama_model_default_params = params
    try:
        yield
    finally:
        library.llama_model_default_params = default


def lock_for(model: BaseChatModel) -> contextlib.AbstractContextManager:
    """What serialises calls into `model`: the process-wide lock of an in-process
    llama.cpp model (it runs one generation at a time, whichever `Assistant` asks), and
    nothing for a remote server, which queues requests itself."""
    lock = _model_locks.get(id(model))
    return lock if lock is not None else contextlib.nullcontext()


_END = object()


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def stream_detached(pieces: Callable[[], Iterable[str]],
                    lock: contextlib.AbstractContextManager) -> Iterator[str]:
    """Run a generation in a worker thread that holds `lock` only while the model works.

    The caller reads the pieces from a queue at its own pace, so a client that reads its
    stream slowly, or stops reading, holds up nobody else. Closing this iterator early
    stops the generation at its next piece; an error in the worker is raised here.
    """
    out: queue.SimpleQueue = queue.SimpleQueue()
    stop = threading.Event()

    def work() -> None:
        try:
            with lock:
                for piece in pieces():
                    out.put(piece)
                    if stop.is_set():
                        break
        except BaseException as exc:  # noqa: BLE001 - handed to the reader
            out.put(_Failed(exc))
        finally:
            out.put(_END)

    threading.Thread(target=work, daemon=True, name="generate").start()
    try:
        while (item := out.get()) is not _END:
            if isinstance(item, _Failed):
                raise item.error
            yield item
    finally:
        stop.set()


def _save_state(llama):
    """llama.cpp's evaluated state, for the prompt cache, without the logits buffer.

    llama-cpp-python's own `save_state` also copies its logits buffer (n_batch x vocab
    floats: 311 MB for this model) into every cached state, and the cache does not count
    those bytes against its capacity: memory grew by gigabytes and every answer paid for
    the copy. The buffer is not read back when tokens are sampled inside llama.cpp, as
    they are here, so one row stands in for it (`load_state` broadcasts it).
    """
    import llama_cpp

    size = llama_cpp.llama_state_get_size(llama._ctx.ctx)
    buffer = (ctypes.c_uint8 * int(size))()
    written = int(llama_cpp.llama_state_get_data(llama._ctx.ctx, buffer, size))
    if written > int(size):
        raise RuntimeError("llama.cpp wrote more state than it announced")
    return llama_cpp.LlamaState(
        input_ids=llama.input_ids.copy(), scores=llama.scores[:1].copy(),
        n_tokens=llama.n_tokens, llama_state=bytes(buffer)[:written],
        llama_state_size=written, seed=llama._seed)


def prime(model: BaseChatModel, system_prompts: list[str], keep_in: Path | None = None) -> None:
    """Evaluate fixed system prompts ahead of the first question (local models only).

    With `keep_in`, each prompt's evaluated state is also written there, and a later
    process loads it (a few megabytes, milliseconds) instead of evaluating the prompt
    again (about a second on 2 cores): a cold `rag ask` starts generating sooner.
    """
    client = _llama(model)
    if client is None:
        return
    for system in system_prompts:
        path = _primed_path(client, system, keep_in) if keep_in is not None else None
        if path is not None and _load_primed(client, path):
            continue
        client.create_chat_completion(
            messages=[{"role": "system", "content": system}, {"role": "user", "content": "."}],
            max_tokens=1, temperature=0.0)
        if path is not None:
            _save_primed(client, path)


def _primed_path(client, system: str, folder: Path) -> Path:
    """Where the state for `system` lives: named by everything the state depends on."""
    import hashlib

    import llama_cpp

    model = Path(client.model_path)
    stat = model.stat()
    identity = "\n".join(str(part) for part in (
        model.resolve(), stat.st_size, stat.st_mtime_ns, client.n_ctx(), client.n_batch,
        client.model_params.use_extra_bufts, llama_cpp.__version__, system))
    return folder / f"primed-{hashlib.sha256(identity.encode()).hexdigest()[:24]}.npz"


def _save_primed(client, path: Path) -> None:
    """The state the cache holds for the prompt just evaluated, to `path` (atomically;
    a failure to write only means the next process evaluates the prompt itself)."""
    cache = getattr(client.cache, "cache_state", None)
    if not cache:
        return
    key, state = next(reversed(cache.items()))
    partial = path.with_suffix(f".{threading.get_ident()}.partial")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with partial.open("wb") as handle:
            np.savez(handle, key=np.asarray(key, dtype=np.int32), input_ids=state.input_ids,
                     scores=state.scores, n_tokens=state.n_tokens, seed=state.seed,
                     llama_state=np.frombuffer(state.llama_state, dtype=np.uint8))
        partial.replace(path)
    except OSError:
        partial.unlink(missing_ok=True)  # the next process evaluates the prompt itself


def _load_primed(client, path: Path) -> bool:
    """Put the state kept at `path` into the prompt cache; False if there is none or it
    cannot be read (then the prompt is evaluated as usual)."""
    import llama_cpp

    try:
        with np.load(path, allow_pickle=False) as kept:
            raw = kept["llama_state"].tobytes()
            state = llama_cpp.LlamaState(
                input_ids=kept["input_ids"], scores=kept["scores"],
                n_tokens=int(kept["n_tokens"]), llama_state=raw, llama_state_size=len(raw),
                seed=int(kept["seed"]))
            key = tuple(int(token) for token in kept["key"])
    except (OSError, ValueError, KeyError):
        return False
    client.cache[key] = state
    return True


def _llama(model: BaseChatModel):
    """The llama.cpp model behind a local chat model, or None for other backends."""
    client = getattr(model, "client", None)
    return client if client is not None and hasattr(client, "create_chat_completion") else None


class TokenProbe:
    """Records how sure llama.cpp was of each token it generated.

    Passed as a logits processor, it sees the logits of every step before sampling and
    keeps the most likely token (the one greedy decoding takes, repetition penalty
    aside) and its log-probability, and the whole first step's distribution when asked
    to.
    """

    def __init__(self, keep_first: bool = False) -> None:
        self.logprobs: list[float] = []
        self.tokens: list[int] = []
        self.keep_first = keep_first
        self.first: np.ndarray | None = None

    def __call__(self, input_ids, logits):
        self.tokens.append(int(np.argmax(logits)))
        top = float(logits.max())
        normaliser = top + math.log(float(np.exp(logits - top).sum()))
        self.logprobs.append(top - normaliser)
        if self.keep_first and self.first is None:
            self.first = np.asarray(logits, dtype=np.float64) - normaliser
        return logits


def token_texts(model: BaseChatModel, tokens: list[int]) -> list[str]:
    """The text of each token, in order ("" for the bytes of a character split across
    tokens, until the token that completes it); [] for backends without a tokenizer."""
    client = _llama(model)
    if client is None:
        return []
    decoder = codecs.getincrementaldecoder("utf-8")(errors="ignore")
    return [decoder.decode(client.detokenize([token])) for token in tokens]


def max_tokens(model: BaseChatModel, tokens: int) -> dict[str, int]:
    """The per-call keyword that caps the length of `model`'s answer."""
    return {"num_predict": tokens} if type(model).__name__ == "ChatOllama" else \
        {"max_tokens": tokens}


def probed(model: BaseChatModel, probe: TokenProbe, **kwargs) -> Runnable:
    """`model` with `probe` watching its tokens (local models; others run unwatched)."""
    if _llama(model) is None:
        return model.bind(**kwargs) if kwargs else model
    from llama_cpp import LogitsProcessorList

    return model.bind(logits_processor=LogitsProcessorList([probe]), **kwargs)


_YES_NO: dict[int, tuple[list[int], list[int]]] = {}


def yes_probability(model: BaseChatModel, prompt_value) -> float | None:
    """P(yes) / (P(yes) + P(no)) for the model's first token after `prompt_value`; None
    for backends that give no token probabilities. On the local model this reuses the
    cached evaluation of the shared prompt prefix, so it costs only the new tokens."""
    client = _llama(model)
    if client is None:
        return None
    if id(client) not in _YES_NO:
        def ids(words: list[str]) -> list[int]:
            found = {tuple(client.tokenize(w.encode(), add_bos=False)) for w in words}
            return sorted({t[0] for t in found if len(t) == 1})

        _YES_NO[id(client)] = (ids(["yes", "Yes", "YES", " yes", " Yes"]),
                               ids(["no", "No", "NO", " no", " No"]))
    yes, no = _YES_NO[id(client)]
    probe = TokenProbe(keep_first=True)
    probed(model, probe, max_tokens=1).invoke(prompt_value)
    if probe.first is None:
        return None
    p_yes = float(np.exp(probe.first[yes]).sum())
    p_no = float(np.exp(probe.first[no]).sum())
    return p_yes / (p_yes + p_no) if p_yes + p_no > 0 else None


@atexit.register
def _close_local_models() -> None:
    # Free llama.cpp models before interpreter teardown, when their destructor would
    # run against half-unloaded modules and print "Exception ignored in ... __del__".
    for model in _local_models.values():
        client = getattr(model, "client", None)
        if client is not None and hasattr(client, "close"):
            client.close()
    _local_models.clear()


def translate_error(exc: Exception, settings: Settings) -> Exception:
    """A `RagError` for a failure of the backend's SDK, or `exc` itself if unknown."""
    names = {cls.__name__ for cls in type(exc).__mro__}
    text = str(exc)
    if settings.backend == "openai" and names & {"APIConnectionError", "APITimeoutError",
                                                 "ConnectError", "ConnectTimeout"}:
        return BackendError(
            f"Cannot reach the OpenAI-compatible server at {settings.openai_base_url}: start it "
            "or set RAG_OPENAI_BASE_URL."
        )
    if settings.backend == "openai" and names & {"AuthenticationError", "PermissionDeniedError"}:
        return BackendError("The OpenAI-compatible server refused the API key: set RAG_OPENAI_API_KEY.")
    if settings.backend == "openai" and "NotFoundError" in names:
        return BackendError(f"The server at {settings.openai_base_url} has no model "
                            f"{settings.openai_model!r}: set RAG_OPENAI_MODEL.")
    if settings.backend == "ollama" and (names & {"ConnectError", "ConnectTimeout",
                                                  "ConnectionError"}
                                         or "Failed to connect" in text):
        return BackendError(
            f"Cannot reach Ollama at {settings.ollama_base_url}: start it with `ollama serve` "
            "or set RAG_OLLAMA_BASE_URL."
        )
    if settings.backend == "ollama" and "ResponseError" in names:
        return BackendError(f"Ollama could not run {settings.ollama_model!r} ({text}); "
                            f"try `ollama pull {settings.ollama_model}` or set RAG_OLLAMA_MODEL.")
    return exc
