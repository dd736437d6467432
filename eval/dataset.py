"""Eval questions: one JSON object a line, checked on load.

    {"id", "question", "answers": [aliases], "evidence": "verbatim text" | [texts] | "",
     "kind": "lookup"|"number"|"who"|"quote"|"multi-hop"|"unanswerable",
     "doc": "file name of the source document", "tags": [optional labels],
     "removed": [verbatim texts of the document hidden from retrieval] (optional),
     "history": [["user"|"assistant", text], ...] (optional)}

`removed` makes evidence-removal negatives: the question is asked as if those texts
were not indexed (see `eval.negatives`). `history` makes the question a follow-up: it
is asked after those turns, as the chat would ask it (see `eval.followups`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

KINDS = ("lookup", "number", "who", "quote", "multi-hop", "unanswerable")
DATA_DIR = Path(__file__).resolve().parent / "data"
ARTICLE_DATASET = DATA_DIR / "article.jsonl"


class DatasetError(ValueError):
    """The questions file is not in the eval format; the message says where."""


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    answers: tuple[str, ...]
    evidence: tuple[str, ...]
    kind: str
    doc: str
    tags: tuple[str, ...] = field(default=())
    removed: tuple[str, ...] = field(default=())
    """Verbatim texts of `doc` left out of retrieval when this question is asked."""
    history: tuple[tuple[str, str], ...] = field(default=())
    """Earlier turns of the conversation, (role, text), when this is a follow-up."""

    @property
    def answerable(self) -> bool:
        return self.kind != "unanswerable"


def load_dataset(path: Path, limit: int | None = None) -> list[Question]:
    """Read and validate a questions file; `limit` keeps the first N."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"No questions file at {path}")
    questions = []
    seen = set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path.name}, line {number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{where}: not JSON ({exc.msg})") from None
        missing = {"id", "question", "answers", "evidence", "kind", "doc"} - row.keys()
        if missing:
            raise DatasetError(f"{where}: missing {', '.join(sorted(missing))}")
        if row["kind"] not in KINDS:
            raise DatasetError(f"{where}: kind {row['kind']!r} is not one of {', '.join(KINDS)}")
        if row["id"] in seen:
            raise DatasetError(f"{where}: duplicate id {row['id']!r}")
        seen.add(row["id"])
        evidence = _texts(row["evidence"])
        history = row.get("history", [])
        if not isinstance(history, list) or not all(
                isinstance(turn, list) and len(turn) == 2
                and turn[0] in ("user", "assistant") and isinstance(turn[1], str)
                for turn in history):
            raise DatasetError(f'{where}: history must be [["user" or "assistant", text], ...]')
        if row["kind"] != "unanswerable" and (not row["answers"] or not evidence):
            raise DatasetError(f"{where}: an answerable question needs answers and evidence")
        questions.append(Question(id=str(row["id"]), question=row["question"],
                                  answers=tuple(row["answers"]), evidence=evidence,
                                  kind=row["kind"], doc=row["doc"],
                                  tags=tuple(row.get("tags", ())),
                                  removed=_texts(row.get("removed", ())),
                                  history=tuple((role, text) for role, text in history)))
    if not questions:
        raise DatasetError(f"{path} holds no questions")
    return questions[:limit] if limit else questions


def _texts(value: str | list[str]) -> tuple[str, ...]:
    texts = (value,) if isinstance(value, str) else tuple(value)
    return tuple(t for t in texts if t)
