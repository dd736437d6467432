"""`rag eval`: ask every question of a dataset through the public API, score, report.

    rag eval                                   # bundled article, local model
    rag eval --corpus DIR --dataset FILE       # any folder + questions in the eval format
    rag eval --compare naive --out eval-out/   # side by side with the tutorial recipe

The corpus is indexed into a temporary folder unless `--index-dir` names an index.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from pathlib import Path

from langchain_core.language_models.chat_models import BaseChatModel

from eval import metrics
from eval.arguments import PARAPHRASES, SQUAD
from eval.dataset import ARTICLE_DATASET, DatasetError, Question, load_dataset
from eval.negatives import evidence_removed
from eval.replay import ReplaySystem, run_asked_with
from eval.report import aggregate, by_group, score, tradeoff, write_report
from eval.systems import AssistantSystem, System
from rag import Assistant, Settings
from rag.calibration import load_calibration
from rag.errors import InputError, PathNotFoundError


def documents_by_name(assistant: Assistant) -> dict[str, str]:
    return {info.name: assistant.catalog.document(info.source).text
            for info in assistant.documents()}


def sources_by_name(assistant: Assistant) -> dict[str, str]:
    return {info.name: info.source for info in assistant.documents()}


def check_evidence(questions: list[Question], documents: dict[str, str]) -> None:
    """Every question's evidence (and text to hide) is verbatim in its document, checked
    before any is asked: scoring finds it per question, an hour into a run."""
    for question in questions:
        for field in ("evidence", "removed"):
            try:
                metrics.evidence_spans(documents[question.doc], getattr(question, field))
            except ValueError as exc:
                raise InputError(f"Question {question.id}: its {field} is not verbatim in "
                                 f"{question.doc} ({str(exc).split(': ', 1)[-1]}); copy it "
                                 f"from the indexed text.") from None


def hidden_spans(question: Question, documents: dict[str, str],
                 sources: dict[str, str]) -> list[tuple[str, int, int]]:
    """The (source, start, end) spans a question's `removed` texts name."""
    if not question.removed:
        return []
    return [(sources[question.doc], start, end)
            for start, end in metrics.evidence_spans(documents[question.doc], question.removed)]


def run_system(system: System, questions: list[Question], documents: dict[str, str],
               sources: dict[str, str], progress: bool = True) -> dict:
    """Ask every question; returns rows, metrics, per-kind metrics and predictions."""
    from tqdm import tqdm

    rows, predictions = [], []
    bar = tqdm(questions, desc=f"eval {system.name}", unit="q", disable=not progress,
               file=sys.stderr)
    for question in bar:
        prediction = system.ask(question.id, question.question,
                                hidden_spans(question, documents, sources), question.history)
        rows.append(score(question, prediction, documents.get(question.doc, "")))
        prediction.document_texts = {}  # a copy of each cited document: not one per question
        predictions.append(prediction)
    return {"rows": rows, "metrics": aggregate(rows), "groups": by_group(rows),
            "predictions": predictions}


def select(questions: list[Question], limit: int | None, per_doc: int | None) -> list[Question]:
    """The first `per_doc` questions of each (document, kind), then the first `limit`."""
    if per_doc:
        seen: dict[tuple[str, str], int] = {}
        kept = []
        for question in questions:
            key = (question.doc, question.kind)
            seen[key] = seen.get(key, 0) + 1
            if seen[key] <= per_doc:
                kept.append(question)
        questions = kept
    return questions[:limit] if limit else questions


def run_eval(datasets: list[Path], corpus: Path, settings: Settings, out: Path | None,
             compare: str | None = None, limit: int | None = None,
             per_doc: int | None = None, progress: bool = True,
             chat_model: BaseChatModel | None = None, negatives: bool = False,
             replay: Path | None = None) -> dict[str, dict]:
    """Index `corpus` (into `settings.index_dir`), run the systems, write the report.

    `negatives` adds the evidence-removal negatives of the answerable questions
    (`eval.negatives`). `chat_model` replaces the configured backend's model in both
    systems (for tests of the plumbing with a scripted model). `replay`: the `out` folder
    of an earlier run, whose drafts are decided again instead of asking the chat model
    (`eval.replay`)."""
    questions = select([q for path in datasets for q in load_dataset(path)], limit, per_doc)
    if not corpus.exists():
        raise PathNotFoundError(f"No corpus folder at {corpus}; pass --corpus DIR.")
    assistant = Assistant(settings, chat_model=chat_model)
    settings = assistant.settings  # (with the chunking of an existing index)
    # a replay that would be refused is refused before the corpus is indexed
    replayed = ReplaySystem(assistant, replay, settings.backend) if replay is not None else None
    report = assistant.ingest([corpus], progress_bar=progress)
    documents = documents_by_name(assistant)
    sources = sources_by_name(assistant)
    missing = sorted({q.doc for q in questions} - documents.keys())
    if missing:
        raise InputError(f"The dataset asks about documents not in {corpus}: {', '.join(missing)}")
    check_evidence(questions, documents)
    if negatives:
        questions = questions + evidence_removed(questions, documents)

    ours_system: System = replayed or AssistantSystem(assistant, settings.backend,
                                                      settings.backend)
    results = {settings.backend: run_system(ours_system, questions, documents, sources,
                                            progress)}
    ours = results[settings.backend]
    ours["tradeoff"] = tradeoff(ours["rows"], settings.abstain_below)
    if compare == "naive":
        with tempfile.TemporaryDirectory(prefix="rag-naive-") as workdir:
            results["naive"] = run_system(_naive(corpus, Path(workdir), settings, assistant,
                                                 chat_model),
                                          questions, documents, sources, progress)
    if out is not None:
        config = {"dataset_name": " + ".join(p.name for p in datasets)
                  + (" + evidence-removal negatives" if negatives else ""),
                  "dataset": ", ".join(str(p) for p in datasets), "corpus": str(corpus),
                  "backend": settings.backend, "k": settings.k, "chunk_size": settings.chunk_size,
                  "chunk_overlap": settings.chunk_overlap, "questions": len(questions),
                  "abstain_below": settings.abstain_below,
                  "ingest_seconds": round(report.seconds, 1),
                  "date": time.strftime("%Y-%m-%d %H:%M"),
                  "held_out": held_out(datasets, settings),
                  "asked_with": run_asked_with(settings)}
        if replay is not None:
            config["replayed_from"] = f"{replay} (its drafts decided again; timings as asked)"
        write_report(out, results, config)
    return results


POOL = SQUAD / "pool.jsonl"
_DERIVED = re.compile(r"(?:-(?:removed|paraphrased|reworded))+$")
"""The suffixes of questions made from others (a negative, a rewording)."""


def held_out(datasets: list[Path], settings: Settings,
             fitting: tuple[Path, ...] = (POOL, PARAPHRASES)) -> dict[str, bool]:
    """Per question file: True when the decision models were not fitted on it, it is not
    a development set (named `*-dev.jsonl`, for trying changes on), and it asks none of
    the `fitting` questions (the calibration pool and its rewordings), under any name."""
    fitted = load_calibration(settings.calibration_path).meta.get("fitted_on")
    known: set[str] = set()
    for path in fitting:
        if path.is_file():
            with path.open(encoding="utf-8") as handle:
                known.update(_DERIVED.sub("", json.loads(line)["id"])
                             for line in handle if line.strip())
    return {path.name: path.name != fitted and not path.name.endswith("-dev.jsonl")
            and not any(_DERIVED.sub("", q.id) in known for q in load_dataset(path))
            for path in datasets}


def _naive(corpus: Path, workdir: Path, settings: Settings, assistant: Assistant,
           chat_model: BaseChatModel | None) -> System:
    from eval.naive import NaiveSystem
    from rag import llm

    if chat_model is None:
        chat_model = llm.chat_model(settings if settings.backend != "extractive"
                                    else settings.model_copy(update={"backend": "local"}))
    return NaiveSystem(corpus, workdir, chat_model, assistant.index.embedder)


def main(args: argparse.Namespace) -> int:
    values = {"backend": args.backend, "k": args.k, "index_dir": args.index_dir}
    negatives = getattr(args, "negatives", False)
    values = {k: v for k, v in values.items() if v is not None}
    with tempfile.TemporaryDirectory(prefix="rag-eval-") as scratch:
        values.setdefault("index_dir", Path(scratch) / "index")
        settings = Settings(**values)
        try:
            results = run_eval(args.dataset or [ARTICLE_DATASET], args.corpus, settings,
                               args.out, args.compare, args.limit, args.per_doc,
                               negatives=negatives, replay=args.replay)
        except DatasetError as exc:
            raise InputError(str(exc)) from None
    for name, result in results.items():
        m = result["metrics"]
        print(f"{name}: answer accuracy {_pct(m['answer_accuracy'])}, abstention accuracy "
              f"{_pct(m['abstention_accuracy'])}, false abstentions "
              f"{_pct(m['false_abstention_rate'])}, wrong among answered "
              f"{_pct(m['wrong_among_answered'])}, citation precision "
              f"{_pct(m['citation_precision'])}, context recall {_pct(m['context_recall'])}, "
              f"median {m['total_median_s']:.1f} s/answer")
    print(f"Report: {args.out / 'report.md'}")
    return 0


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.0f}%"
