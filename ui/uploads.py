"""Files uploaded in the UI, kept in `<index_dir>/uploads/` under a safe name.

An upload never costs what is already there: it is copied to a hidden temporary name,
checked by the loader, and only then put in place, with the earlier file of that name
set aside until the ingest succeeds (and put back if it fails before the index took the
new file). Gradio's own copy in its temporary folder is deleted at once, so a removed
document cannot be fetched by URL afterwards; removing a document deletes the kept copy.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from index import loaders
from index.types import IngestReport

log = logging.getLogger(__name__)

_UNSAFE = re.compile(r"[^\w.\- ]+")
MAX_NAME = 120


def safe_name(name: str) -> str:
    """A file name with no folders, no traversal and no odd characters. A name that had
    to be changed or cut gets a short hash of the original, so that two uploads ("Q&A.md",
    "Q+A.md") never become one file and replace each other."""
    original = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE.sub("_", original).strip(" .")
    if not name:
        return "upload.txt"
    stem, dot, suffix = name.rpartition(".")
    if not dot:
        stem, suffix = name, ""
    tag = ""
    if _UNSAFE.search(original) or len(stem) + len(suffix) + 1 > MAX_NAME or len(suffix) > 20:
        tag = "-" + hashlib.sha256(original.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    suffix = suffix[:20]
    stem = stem[:MAX_NAME - len(suffix) - 1 - len(tag)] + tag
    return f"{stem}.{suffix}" if dot else stem


@dataclass
class Staged:
    """Uploads in place for an ingest, and how to undo that."""

    paths: list[Path] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    _previous: dict[Path, Path | None] = field(default_factory=dict)

    def keep(self) -> None:
        """The ingest succeeded: drop the earlier copies."""
        for backup in self._previous.values():
            if backup is not None:
                backup.unlink(missing_ok=True)
        self._previous.clear()

    def undo(self, only: set[Path] | None = None) -> None:
        """Put the earlier copies back (or remove new files that had none)."""
        for final, backup in list(self._previous.items()):
            if only is not None and final not in only:
                continue
            if backup is not None:
                os.replace(backup, final)
            else:
                final.unlink(missing_ok=True)
            del self._previous[final]


def stage(files: list[str], folder: Path, max_bytes: int) -> Staged:
    """Check each uploaded file and move it into `folder`; see the module docstring. If
    anything fails on the way (a full disk), what this batch replaced is put back."""
    folder.mkdir(parents=True, exist_ok=True)
    staged = Staged()
    try:
        for file in files:
            _stage_one(Path(file), folder, max_bytes, staged)
    except BaseException:
        staged.undo()
        raise
    finally:
        for file in files:
            Path(file).unlink(missing_ok=True)  # Gradio's copies: nothing serves them any more
    return staged


def _stage_one(upload: Path, folder: Path, max_bytes: int, staged: Staged) -> None:
    final = folder / safe_name(upload.name)
    if upload.stat().st_size > max_bytes:
        staged.skipped.append(f"{final.name}: larger than {max_bytes // 2**20} MB")
        return
    incoming = folder / f".incoming-{uuid.uuid4().hex}-{final.name}"
    try:
        shutil.copyfile(upload, incoming)
        upload.unlink(missing_ok=True)
        try:
            loaders.load(incoming)
        except loaders.LoadError as exc:
            staged.skipped.append(f"{final.name}: {exc}")
            return
        except Exception as exc:  # noqa: BLE001 - a file the loader chokes on is unreadable
            log.warning("Upload %s could not be read: %r", final.name, exc)
            staged.skipped.append(f"{final.name}: could not be read ({type(exc).__name__}); "
                                  f"save it again from the program that made it")
            return
        if final not in staged._previous:  # a second file of this name replaces the first
            backup = None
            if final.exists():
                backup = folder / f".previous-{uuid.uuid4().hex}-{final.name}"
                os.replace(final, backup)
            staged._previous[final] = backup
            staged.paths.append(final)
        os.replace(incoming, final)
    finally:
        incoming.unlink(missing_ok=True)


def ingest(staged: Staged, run: Callable[[list[Path]], IngestReport],
           recorded: Callable[[Path], str | None]) -> IngestReport | None:
    """Ingest the staged files with `run`, undoing any it skips. If it fails part way, the
    files whose new bytes the index already holds (`recorded(path)`: the SHA-256 it keeps
    for that file) stay, so that every indexed document still has its file; the rest are
    undone."""
    if not staged.paths:
        return None
    try:
        report = run(staged.paths)
    except BaseException:
        staged.undo(only={path for path in staged.paths
                          if not _indexed_as_is(path, recorded)})
        staged.keep()
        raise
    staged.undo(only={Path(s.path) for s in report.skipped})
    staged.keep()
    return report


def _indexed_as_is(path: Path, recorded: Callable[[Path], str | None]) -> bool:
    try:
        sha256 = recorded(path)
    except Exception:  # noqa: BLE001 - the index that just failed may fail again: undo
        log.warning("Could not read what the index holds for %s", path.name, exc_info=True)
        return False
    return sha256 is not None and sha256 == loaders.fingerprint(path)


def forget(source: str, folder: Path) -> None:
    """Delete the kept copy of a removed document, if it was an upload."""
    path = Path(source)
    if path.parent == folder.resolve():
        path.unlink(missing_ok=True)
