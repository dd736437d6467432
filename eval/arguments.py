"""Command-line arguments of `rag eval` and `rag calibrate`.

Apart from the commands themselves, so that building the `rag` parser (every command,
`--help` included) does not import the eval machinery.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rag.calibration import CALIBRATION_FILE
from rag.cli import int_in
from rag.config import BACKENDS

DEFAULT_CORPUS = Path("corpus")
SQUAD = Path(__file__).resolve().parents[2] / "shared" / "squad-dev-13"
PARAPHRASES = Path(__file__).resolve().parent / "data" / "pool-paraphrased.jsonl"


def _optional_path(value: str) -> Path | None:
    return None if value.lower() == "none" else Path(value)


def eval_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", type=Path, action="append", metavar="FILE",
                        help="questions, one JSON object a line; repeat to combine files "
                             "(default: the bundled article's known facts)")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, metavar="DIR",
                        help="the documents the questions are about (default: corpus/)")
    parser.add_argument("--backend", choices=BACKENDS, metavar="NAME",
                        help=f"who writes the answers: {', '.join(BACKENDS)} (default: "
                             "$RAG_BACKEND or local)")
    parser.add_argument("--limit", type=int_in(1), metavar="N", help="only the first N questions")
    parser.add_argument("--per-doc", type=int_in(1), metavar="N",
                        help="at most N questions of each kind per document (a smaller "
                             "sample that still covers every document)")
    parser.add_argument("--out", type=Path, default=Path("eval-out"), metavar="DIR",
                        help="where the report goes (default: eval-out/)")
    parser.add_argument("--compare", choices=["naive"], help="also run the LangChain tutorial "
                        "recipe on the same questions, side by side")
    parser.add_argument("-k", type=int_in(1, 50), metavar="N",
                        help="chunks retrieved per question, 1 to 50 (default: $RAG_K or 6)")
    parser.add_argument("--negatives", action="store_true",
                        help="also ask each answerable question with its evidence paragraph "
                             "hidden, where no other paragraph holds an answer (it must then "
                             "be declined)")
    parser.add_argument("--replay", type=Path, metavar="DIR",
                        help="decide again the drafts of an earlier eval (its --out folder) "
                             "instead of asking the chat model: minutes instead of an hour, "
                             "to measure a refitted decision; same questions and settings")


def calibrate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pool", type=Path, default=SQUAD / "pool.jsonl", metavar="FILE",
                        help="questions to fit on (default: the SQuAD-dev-13 pool)")
    parser.add_argument("--corpus", type=Path, default=SQUAD / "corpus", metavar="DIR",
                        help="the documents the pool asks about")
    parser.add_argument("--answerable", type=int_in(0), default=650, metavar="N",
                        help="pool questions to ask (default 650)")
    parser.add_argument("--negatives", type=int_in(0), default=450, metavar="N",
                        help="evidence-removal negatives to ask (default 450)")
    parser.add_argument("--reworded", type=int_in(0), default=600, metavar="N",
                        help="of those, how many to have the chat model reword and ask again "
                             "(default 600; rewordings no different from the original are "
                             "dropped)")
    parser.add_argument("--paraphrased", type=_optional_path, default=PARAPHRASES,
                        metavar="FILE",
                        help="hand-written rewordings of sampled pool questions, JSON lines "
                             "of {\"id\", \"question\"}, asked as extra questions (default: "
                             "eval/data/pool-paraphrased.jsonl; 'none' for none)")
    parser.add_argument("--work", type=Path, default=Path("calibration-work"), metavar="DIR",
                        help="index, stored answers and report (default: calibration-work/)")
    parser.add_argument("--out", type=Path, default=CALIBRATION_FILE, metavar="FILE",
                        help="where the fitted parameters go (default: rag/calibration.json)")
