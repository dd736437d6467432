"""Generation runs in a worker that holds the model's lock only while the model works."""

from __future__ import annotations

import threading
import time

import pytest

from rag import llm


def _pieces(n: int | None, done: threading.Event):
    def run():
        i = 0
        try:
            while n is None or i < n:
                yield f"piece{i} "
                i += 1
                time.sleep(0.01)
        finally:
            done.set()
    return run


def test_a_reader_that_stalls_does_not_keep_the_lock():
    lock, done = threading.Lock(), threading.Event()
    stream = llm.stream_detached(_pieces(5, done), lock)
    assert next(stream) == "piece0 "
    # the reader stops reading here; the generation finishes and lets go of the lock
    assert done.wait(5)
    assert lock.acquire(timeout=5)
    lock.release()
    assert "".join(stream) == "piece1 piece2 piece3 piece4 "


def test_closing_the_stream_stops_the_generation():
    lock, done = threading.Lock(), threading.Event()
    stream = llm.stream_detached(_pieces(None, done), lock)
    assert [next(stream), next(stream)] == ["piece0 ", "piece1 "]
    stream.close()
    assert done.wait(5)
    assert lock.acquire(timeout=5)
    lock.release()


def test_an_error_in_the_generation_reaches_the_reader():
    def failing():
        yield "a"
        raise RuntimeError("the server went away")

    lock = threading.Lock()
    with pytest.raises(RuntimeError, match="went away"):
        list(llm.stream_detached(failing, lock))
    assert not lock.locked()


def test_remote_backends_are_not_serialised():
    from rag.config import Settings

    model = llm.chat_model(Settings(backend="openai", openai_base_url="http://127.0.0.1:9/v1"))
    with llm.lock_for(model), llm.lock_for(model):  # no lock at all: re-entering is fine
        pass
