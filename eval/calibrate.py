"""`rag calibrate`: refit the decision models from scratch on the calibration pool.

    rag calibrate                        # SQuAD-dev-13 pool, writes rag/calibration.json
    rag calibrate --answerable 200 --negatives 150 --reworded 100 --work calib/ --out my.json

1. Sample questions from the pool (`../shared/squad-dev-13/pool.jsonl`: 4,273 SQuAD
   questions none of the reported sets ask), evenly over its articles, plus
   evidence-removal negatives (`eval.negatives`) made from other pool questions; have
   the chat model reword some of both (SQuAD questions share many words with their
   answer's sentence, users' questions often do not), kept as extra questions. The
   chat model rewords timidly, so hand-written paraphrases of sampled questions
   (`--paraphrased`, default `eval/data/pool-paraphrased.jsonl`) are asked as well.
2. Ask each through the assistant, with the model's own check always asked, and keep
   what the chat model said (`records.jsonl` in `--work`; a rerun resumes, and with
   every record present no model is loaded at all). A rerun whose settings or prompts
   would make the model read or write otherwise (`asked-with.json`) is refused.
3. Fit the `support` model: candidate spans of correct answers, labelled by whether the
   span is in the gold paragraph and quotes the answer.
4. Replay every record under that support model (retrieval and checks are
   deterministic; the chat model is not needed) and fit the `answer` model: is the
   answer right? Evidence-removal negatives are wrong whatever they say.
5. Choose each model's regularisation by cross-validation grouped by article (no
   article is in both the fitting and the scoring part of a fold), and whether the
   model's yes/no check of its own answer (a model call per question) improves the
   out-of-fold predictions enough to keep; fit on all, write the parameters as JSON
   and `report.md` with the out-of-fold figures (among them, per kind of question, how
   many would be answered right, answered wrong or declined, and where each miss first
   went wrong), and each answer's out-of-fold chance in `replays.jsonl`.

Everything is seeded; the chat model decodes greedily. The fitted file is what the
assistant loads: `Settings.calibration_path`, default `rag/calibration.json`.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from langchain_core.prompts import ChatPromptTemplate

from eval import metrics
from eval.dataset import Question, load_dataset
from eval.negatives import evidence_removed
from eval.replay import asked_with, differs, redecide
from eval.report import CAUSES, causes_table, miss_cause
from rag import Assistant, Settings, llm
from rag.calibration import Calibration, LogisticModel
from rag.decide import FEATURE_NAMES
from rag.errors import InputError, PathNotFoundError

REWORDED = "-reworded"
PARAPHRASED = "-paraphrased"
SUPPORT_FEATURES = ("coverage", "similarity", "claimed", "pair")
C_GRID = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0)
COSTLY = ("p_yes",)
"""Features that cost a model call per question."""
SELF_CHECK_GAIN = 0.002
"""Least fall in out-of-fold log-loss for which the self-check call is worth its time."""
SEED = 13




# Sampling -------------------------------------------------------------------------


def sample(pool: list[Question], documents: dict[str, str], answerable: int,
           negatives: int, seed: int = SEED) -> list[Question]:
    """`answerable` pool questions and `negatives` evidence-removal negatives made from
    other pool questions, each spread evenly over the articles (round robin)."""
    rng = random.Random(seed)
    by_doc: dict[str, list[Question]] = defaultdict(list)
    for question in pool:
        by_doc[question.doc].append(question)
    for questions in by_doc.values():
        rng.shuffle(questions)
    order = _round_robin([by_doc[d] for d in sorted(by_doc)])
    chosen = order[:answerable]
    taken = {q.id for q in chosen}
    candidates = evidence_removed([q for q in order if q.id not in taken], documents)
    by_doc_negative: dict[str, list[Question]] = defaultdict(list)
    for question in candidates:
        by_doc_negative[question.doc].append(question)
    chosen += _round_robin([by_doc_negative[d] for d in sorted(by_doc_negative)])[:negatives]
    return chosen


def _round_robin(groups: list[list[Question]]) -> list[Question]:
    out = []
    for i in range(max((len(g) for g in groups), default=0)):
        out.extend(g[i] for g in groups if i < len(g))
    return out


# Rewording ------------------------------------------------------------------------

REWORD_PROMPT = ChatPromptTemplate.from_messages([("system", """You paraphrase questions. \
Ask the same thing with different words: replace each verb, noun and adjective with a \
synonym or a short description, and change the sentence structure. Never copy more than \
two words in a row from the original, except names, numbers and dates. Reply with the new \
question only.

Question: What year did the museum on the river open to the public?
Paraphrase: When were the doors of the riverside gallery first opened to visitors?

Question: Who designed the bridge's lighting?
Paraphrase: Which person was responsible for how the crossing is illuminated?

Question: What shape are the leaves of the tree?
Paraphrase: How would you describe the outline of this plant's foliage?"""),
                                                  ("human", "Question: {question}\nParaphrase:")])


def _spread(questions: list[Question], n: int) -> list[Question]:
    """`n` of `questions`, answerable and negatives in their proportion, in order."""
    answerable = [q for q in questions if q.answerable]
    negatives = [q for q in questions if not q.answerable]
    share = round(n * len(answerable) / max(len(questions), 1))
    return answerable[:share] + negatives[:n - share]


def reword(model, questions: list[Question], path: Path,
           progress: bool = True) -> list[Question]:
    """Each question asked in other words by the chat model, as a new question with the
    same answers (or the same hidden evidence): benchmark questions share many words
    with the sentence that answers them, real users' questions often do not. Rewordings
    are kept in `path` (JSON lines); one that is not a question, or no different, is
    dropped."""
    from langchain_core.output_parsers import StrOutputParser
    from tqdm import tqdm

    known: dict[str, str] = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                known[row["id"]] = row["reworded"]
    chain = REWORD_PROMPT | model | StrOutputParser()
    with path.open("a", encoding="utf-8") as handle:
        for question in tqdm([q for q in questions if q.id not in known], desc="rewording",
                             unit="q", disable=not progress, file=sys.stderr):
            text = chain.invoke({"question": question.question}).strip()
            text = text.splitlines()[0].strip().strip('"') if text else ""
            known[question.id] = text
            handle.write(json.dumps({"id": question.id, "reworded": text},
                                    ensure_ascii=False) + "\n")
            handle.flush()
    out = []
    for question in questions:
        text = known.get(question.id, "")
        same = metrics.normalize_answer(text) == metrics.normalize_answer(question.question)
        if text.endswith("?") and not same and len(text) <= 2 * len(question.question) + 20:
            out.append(_asked_as(question, text, REWORDED))
    return out


def _asked_as(question: Question, text: str, suffix: str) -> Question:
    """`question` in other words: its id gets `suffix`, its tags the suffix's word."""
    return replace(question, id=question.id + suffix, question=text,
                   tags=(*question.tags, suffix.lstrip("-")))


def paraphrased(questions: list[Question], path: Path | None) -> list[Question]:
    """The sampled questions that `path` (JSON lines of {"id", "question"}) rewords, as
    new questions with the same answers (or the same hidden evidence). The chat model's
    own rewordings stay close to the original; these were written by hand to ask the
    same thing the way someone who never read the paragraph would."""
    if path is None:
        return []
    if not path.is_file():
        raise PathNotFoundError(f"No paraphrase file at {path}; pass --paraphrased FILE "
                                "or --paraphrased none.")
    written: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            written[row["id"]] = row["question"]
        except (ValueError, KeyError, TypeError):
            raise InputError(f"{path}, line {number}: expected a JSON object with \"id\" "
                             "and \"question\"; fix or remove that line.") from None
    return [_asked_as(q, written[q.id], PARAPHRASED) for q in questions if q.id in written]


# Collecting -----------------------------------------------------------------------


@dataclass
class Record:
    """One question asked during calibration and what the chat model said."""

    id: str
    question: str
    doc: str
    answers: list[str]
    evidence: list[str]
    removed: list[str]
    draft: str
    signals: dict
    guess: str = ""
    """The model's guess at the answer's sentence, searched as well ("" if none was asked
    or a record predates the guess)."""

    @property
    def answerable(self) -> bool:
        return not self.removed


def exclusions(assistant: Assistant, question: Question) -> list[tuple[str, int, int]]:
    """The spans `question.removed` names, in its indexed document."""
    if not question.removed:
        return []
    info = next(i for i in assistant.documents() if i.name == question.doc)
    text = assistant.catalog.document(info.source).text
    return [(info.source, start, end)
            for start, end in metrics.evidence_spans(text, question.removed)]


ASKED_WITH = "asked-with.json"
"""The settings and prompts the stored answers were asked with, in `--work`."""
def pin(work: Path, settings: Settings) -> None:
    """Refuse to add answers to `work` that were asked differently from those stored
    there (they would be fitted as one set). The first run writes `ASKED_WITH`; a folder
    from before this check is taken to match the settings of the run that resumes it."""
    path = work / ASKED_WITH
    if not path.exists():
        path.write_text(json.dumps(asked_with(settings), indent=1) + "\n", encoding="utf-8")
        return
    if change := differs(json.loads(path.read_text(encoding="utf-8")), settings):
        raise InputError(f"The answers stored in {work} were asked with {change}: pass a new "
                         f"--work folder, or set it back.")


def stored(path: Path) -> dict[str, Record]:
    """The records in `path` by id. A last line cut short (the process was killed while
    writing it) is cut off the file, so that its question is asked again."""
    if not path.exists():
        return {}
    data = path.read_bytes()
    whole = data[:data.rfind(b"\n") + 1]
    if len(whole) < len(data):
        with path.open("r+b") as handle:
            handle.truncate(len(whole))
    done: dict[str, Record] = {}
    for number, line in enumerate(whole.decode("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = Record(**json.loads(line))
        except (json.JSONDecodeError, TypeError) as exc:
            raise InputError(f"{path}, line {number}: not a stored answer ({exc}); delete the "
                             f"line to ask its question again.") from exc
        done[record.id] = record
    return done


def collect(assistant: Assistant, questions: list[Question], path: Path,
            progress: bool = True) -> list[Record]:
    """Ask every question not yet in `path` (JSON lines), appending as it goes."""
    from tqdm import tqdm

    done = stored(path)
    todo = [q for q in questions if q.id not in done]
    assistant.judge_always = True
    with path.open("a", encoding="utf-8") as handle:
        for question in tqdm(todo, desc="asking", unit="q", disable=not progress,
                             file=sys.stderr):
            answer = assistant.ask(question.question, exclude=exclusions(assistant, question))
            record = Record(question.id, question.question, question.doc, list(question.answers),
                            list(question.evidence), list(question.removed), answer.draft,
                            answer.signals, answer.guess)
            handle.write(json.dumps(record.__dict__, ensure_ascii=False) + "\n")
            handle.flush()
            done[record.id] = record
    return [done[q.id] for q in questions]


# Replaying ------------------------------------------------------------------------


@dataclass
class Replay:
    record: Record
    answer: object
    """The `rag.Answer` the assistant gives for the stored draft."""
    checked: object
    """The `CheckedAnswer` behind it."""
    veto: str


def replay(assistant: Assistant, record: Record) -> Replay:
    """Decide the stored draft again with the assistant's current models
    (`eval.replay.redecide`)."""
    question = Question(record.id, record.question, tuple(record.answers),
                        tuple(record.evidence), "lookup", record.doc,
                        removed=tuple(record.removed))
    redone = redecide(assistant, record.question, record.question, record.draft, record.guess,
                      record.signals, exclusions(assistant, question))
    veto = assistant.decider.veto(record.question, redone.checked, redone.answer.passages)
    return Replay(record, redone.answer, redone.checked, veto)


def correct(record: Record, text: str) -> bool:
    return record.answerable and metrics.contains_answer(text, record.answers)


# Fitting --------------------------------------------------------------------------


def support_rows(replays: list[Replay], documents: dict[str, str]):
    """(features, label, group) per candidate span of each correct answer sentence."""
    rows = []
    for item in replays:
        record = item.record
        if not correct(record, record.draft) or item.checked.abstained:
            continue
        text = documents[record.doc]
        gold = metrics.evidence_spans(text, record.evidence)
        for sentence in item.checked.sentences:
            if not metrics.contains_answer(sentence.text, record.answers):
                continue
            for span in sentence.candidates:
                label = (Path(span.passage.source).name == record.doc
                         and any(metrics.overlap((span.start, span.end), g) for g in gold)
                         and metrics.contains_answer(span.text, record.answers))
                if not span.numbers_match:
                    continue  # certain: never cited, whatever the model says
                features = span.features()
                rows.append(([features[n] for n in SUPPORT_FEATURES], int(label), record.doc))
    return rows


def answer_rows(replays: list[Replay], names: tuple[str, ...] = FEATURE_NAMES):
    """(features, label, group) per answer that no certain check declined."""
    rows = []
    for item in replays:
        if item.veto:
            continue
        features = item.answer.features
        rows.append(([features[n] for n in names],
                     int(correct(item.record, item.checked.text)), item.record.doc))
    return rows


def fit(rows, names: tuple[str, ...], seed: int = SEED) -> tuple[LogisticModel, dict]:
    """A logistic regression with its L2 strength chosen by article-grouped
    cross-validation (log-loss); returns the model fitted on all rows and the
    out-of-fold figures of the chosen strength."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import log_loss, roc_auc_score
    from sklearn.model_selection import GroupKFold

    X = np.array([_impute(r[0]) for r in rows], dtype=float)
    present = ~np.isnan(X)
    # A feature never observed (a backend without token probabilities) gets mean 0 and
    # weight 0: it moves no probability.
    means = np.where(present.any(axis=0),
                     np.nansum(X, axis=0) / np.maximum(present.sum(axis=0), 1), 0.0)
    X = np.where(present, X, means)
    y = np.array([r[1] for r in rows])
    groups = np.array([r[2] for r in rows])
    scale = X.std(axis=0)
    scale[scale == 0] = 1.0
    Z = (X - means) / scale
    folds = list(GroupKFold(n_splits=min(5, len(set(groups)))).split(Z, y, groups))
    best = None
    for c in C_GRID:
        oof = np.zeros(len(y))
        for train, test in folds:
            model = LogisticRegression(C=c, max_iter=2000, random_state=seed)
            model.fit(Z[train], y[train])
            oof[test] = model.predict_proba(Z[test])[:, 1]
        loss = log_loss(y, np.clip(oof, 1e-6, 1 - 1e-6))
        if best is None or loss < best[0]:
            best = (loss, c, oof)
    loss, c, oof = best
    model = LogisticRegression(C=c, max_iter=2000, random_state=seed).fit(Z, y)
    fitted = LogisticModel(names, tuple(float(x) for x in model.coef_[0]),
                           float(model.intercept_[0]), tuple(float(x) for x in means),
                           tuple(float(x) for x in scale))
    both = 0 < y.sum() < len(y)
    figures = {"rows": int(len(y)), "positives": int(y.sum()), "C": c,
               "cv_log_loss": round(float(loss), 4),
               "cv_auroc": round(float(roc_auc_score(y, oof)), 4) if both else None,
               "cv_brier": round(float(np.mean((oof - y) ** 2)), 4)}
    if both:
        # The same folds with gradient-boosted trees: were a linear model leaving much on
        # the table, this would show it.
        from sklearn.ensemble import HistGradientBoostingClassifier

        trees = np.zeros(len(y))
        for train, test in folds:
            booster = HistGradientBoostingClassifier(max_depth=3, learning_rate=0.05,
                                                     max_iter=200, random_state=seed)
            trees[test] = booster.fit(Z[train], y[train]).predict_proba(Z[test])[:, 1]
        figures["cv_auroc_boosted_trees"] = round(float(roc_auc_score(y, trees)), 4)
        figures["cv_log_loss_boosted_trees"] = round(
            float(log_loss(y, np.clip(trees, 1e-6, 1 - 1e-6))), 4)
    return fitted, {**figures, "oof": oof.tolist(), "labels": y.tolist()}


def _subset_figures(figures: dict, mask: list[bool], name: str) -> dict:
    """Out-of-fold AUROC and Brier score on the rows `mask` marks."""
    from sklearn.metrics import roc_auc_score

    oof = np.array(figures["oof"])[np.array(mask, dtype=bool)]
    labels = np.array(figures["labels"])[np.array(mask, dtype=bool)]
    if not 0 < labels.sum() < len(labels):
        return {}
    return {f"cv_auroc_{name}": round(float(roc_auc_score(labels, oof)), 4),
            f"cv_brier_{name}": round(float(np.mean((oof - labels) ** 2)), 4),
            f"rows_{name}": int(len(labels))}


def _impute(values: list) -> list[float]:
    return [math.nan if v is None else float(v) for v in values]


# The command ----------------------------------------------------------------------


def run(pool_path: Path, corpus: Path, answerable: int, negatives: int, work: Path,
        out: Path, progress: bool = True, chat_model=None, reworded: int = 0,
        paraphrases: Path | None = None) -> Calibration:
    """Steps 1-5 of the module docstring; returns the fitted calibration."""
    if not pool_path.is_file():
        raise PathNotFoundError(f"No calibration pool at {pool_path}; pass --pool FILE.")
    if not corpus.is_dir():
        raise PathNotFoundError(f"No corpus folder at {corpus}; pass --corpus DIR.")
    work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    settings = Settings(index_dir=work / "index")
    pin(work, settings)
    assistant = Assistant(settings, chat_model=chat_model)
    assistant.ingest([corpus], progress_bar=progress)
    documents = {i.name: assistant.catalog.document(i.source).text
                 for i in assistant.documents()}
    pool = load_dataset(pool_path)
    missing = sorted({q.doc for q in pool} - documents.keys())
    if missing:
        raise InputError(f"The pool asks about documents not in {corpus}: {', '.join(missing)}")
    questions = sample(pool, documents, answerable, negatives)
    written = paraphrased(questions, paraphrases)
    if reworded:
        model = chat_model or llm.chat_model(settings)
        questions += reword(model, _spread(questions, reworded), work / "reworded.jsonl",
                            progress)
    questions += written
    records = collect(assistant, questions, work / "records.jsonl", progress)

    from tqdm import tqdm

    def replayed(by: Assistant, step: str) -> list[Replay]:
        return [replay(by, r) for r in tqdm(records, desc=step, unit="q", disable=not progress,
                                             file=sys.stderr)]

    replays = replayed(assistant, "replaying for the support model")
    support, support_figures = fit(support_rows(replays, documents), SUPPORT_FEATURES)
    refit = Assistant(settings.model_copy(), chat_model=chat_model)
    refit.checker.model = support
    replays = replayed(refit, "replaying for the answer model")
    answer, answer_figures = fit(answer_rows(replays), FEATURE_NAMES)
    # The model's yes/no check of its own answer costs a model call per question: keep it
    # only if it makes the out-of-fold predictions better.
    names = tuple(n for n in FEATURE_NAMES if n not in COSTLY)
    cheaper, cheaper_figures = fit(answer_rows(replays, names), names)
    with_check = answer_figures["cv_log_loss"]
    if cheaper_figures["cv_log_loss"] <= with_check + SELF_CHECK_GAIN:
        answer, answer_figures = cheaper, cheaper_figures
    answer_figures["cv_log_loss_with_self_check"] = with_check
    answer_figures["self_check"] = answer is not cheaper
    for suffix in (REWORDED, PARAPHRASED):
        answer_figures.update(_subset_figures(
            answer_figures, [i.record.id.endswith(suffix) for i in replays if not i.veto],
            suffix.lstrip("-")))
    chances = out_of_fold_chances(replays, answer_figures["oof"])
    _write_replays(work / "replays.jsonl", replays, chances)

    meta = {
        "fitted_on": pool_path.name,
        "corpus": corpus.name,
        "questions": len(records),
        "answerable": sum(r.answerable for r in records),
        "negatives": sum(not r.answerable for r in records),
        "reworded": sum(r.id.endswith(REWORDED) for r in records),
        "paraphrased": sum(r.id.endswith(PARAPHRASED) for r in records),
        "declined_by_certain_checks": sum(bool(r.veto) for r in replays),
        "seed": SEED,
        "date": time.strftime("%Y-%m-%d"),
        "seconds": round(time.perf_counter() - started),
        "support": {k: v for k, v in support_figures.items() if k not in ("oof", "labels")},
        "answer": {k: v for k, v in answer_figures.items() if k not in ("oof", "labels")},
    }
    calibration = Calibration(support, answer, meta)
    calibration.save(out)
    _report(work, calibration, answer_figures, decisions(replays, chances),
            misses(replays, chances, documents))
    return calibration


KINDS = ("original", "reworded", "paraphrased", "negative")
"""The kinds of calibration question the report counts apart, in its order."""


def _in_order(table: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    return {kind: table[kind] for kind in KINDS if kind in table}


def _kind(record: Record) -> str:
    if not record.answerable:
        return "negative"
    for suffix in (REWORDED, PARAPHRASED):
        if record.id.endswith(suffix):
            return suffix.lstrip("-")
    return "original"


def out_of_fold_chances(replays: list[Replay], oof: list[float]) -> list[float]:
    """Each replay's out-of-fold chance of being right (0 where a certain check
    declined it): `oof` holds one per replay that no certain check declined, in order."""
    weighed = sum(not item.veto for item in replays)
    if len(oof) != weighed:
        raise ValueError(f"{len(oof)} out-of-fold chances for {weighed} weighed answers")
    left = iter(oof)
    return [0.0 if item.veto else float(next(left)) for item in replays]


def decisions(replays: list[Replay], chances: list[float],
              threshold: float = 0.5) -> dict[str, dict[str, int]]:
    """Per kind of question (original, reworded, paraphrased, negative): how many, out of
    fold, would be answered right, answered wrong, or declined at `threshold`."""
    table: dict[str, dict[str, int]] = {}
    for item, chance in zip(replays, chances, strict=True):
        row = table.setdefault(_kind(item.record), dict.fromkeys(
            ("questions", "answered right", "answered wrong", "declined"), 0))
        row["questions"] += 1
        if chance < threshold:
            row["declined"] += 1
        elif correct(item.record, item.checked.text):
            row["answered right"] += 1
        else:
            row["answered wrong"] += 1
    return _in_order(table)


def _write_replays(path: Path, replays: list[Replay], chances: list[float]) -> None:
    """What each stored answer became under the fitted support model: its certain-check
    veto or its features, its out-of-fold chance of being right, and whether it was
    right (for inspecting the fit)."""
    with path.open("w", encoding="utf-8") as handle:
        for item, chance in zip(replays, chances, strict=True):
            record = item.record
            handle.write(json.dumps({
                "id": record.id, "doc": record.doc, "answerable": record.answerable,
                "draft": record.draft, "right": correct(record, item.checked.text or ""),
                "draft_right": correct(record, record.draft), "veto": item.veto,
                "chance_out_of_fold": round(chance, 4),
                "features": item.answer.features}, ensure_ascii=False) + "\n")


def misses(replays: list[Replay], chances: list[float], documents: dict[str, str],
           threshold: float = 0.5) -> dict[str, dict[str, int]]:
    """Per kind of question, out of fold at `threshold`: where each miss first went wrong
    (`eval.report.miss_cause`: the evidence never reached the model, a wrong draft given
    or declined, a right draft declined, ...)."""
    table: dict[str, dict[str, int]] = {}
    for item, chance in zip(replays, chances, strict=True):
        record = item.record
        answered = chance >= threshold
        spans = (metrics.evidence_spans(documents[record.doc], record.evidence)
                 if record.answerable else [])
        recall, _ = metrics.retrieval_ranks(
            [((p.start, p.end), p.text, Path(p.source).name == record.doc)
             for p in item.answer.passages], spans, record.answers)
        cause = miss_cause({
            "answerable": record.answerable, "abstained": not answered,
            "correct": answered and correct(record, item.checked.text),
            "context_recall": recall, "has_evidence": bool(spans),
            "would_be_right": correct(record, record.draft)})
        row = table.setdefault(_kind(record), dict.fromkeys(CAUSES, 0))
        if cause:
            row[cause] += 1
    return _in_order(table)


def _report(work: Path, calibration: Calibration, figures: dict,
            table: dict[str, dict[str, int]], missed: dict[str, dict[str, int]]) -> None:
    from eval.metrics import reliability, risk_coverage

    oof = np.array(figures["oof"])
    labels = np.array(figures["labels"])
    lines = ["# Calibration", "", "Out-of-fold figures: each answer scored by a model "
             "that never saw its article (5 folds, grouped by article).", "",
             "```", json.dumps(calibration.meta, indent=1), "```", "",
             "## Answer model weights (standardised features)", "",
             "| feature | weight |", "|---|---|"]
    weights = sorted(zip(calibration.answer.features, calibration.answer.coef),
                     key=lambda fw: -abs(fw[1]))
    lines += [f"| {name} | {coef:+.3f} |" for name, coef in weights]
    lines += ["", "## Reliability (out of fold)", "", "| bin | answers | mean predicted | "
              "share right |", "|---|---|---|---|"]
    for row in reliability(oof.tolist(), labels.tolist()):
        lines.append(f"| {row['low']:.1f}-{row['high']:.1f} | {row['n']} | "
                     f"{row['predicted']:.3f} | {row['observed']:.3f} |")
    curve = risk_coverage(oof.tolist(), labels.tolist())
    lines += ["", f"Area under the risk-coverage curve (out of fold): {curve['aurc']:.3f}"]
    lines += ["", "## Decisions (out of fold, declining below 0.5)", "",
              "Negatives are the evidence-removal questions, in every wording.", "",
              "| questions | count | answered right | answered wrong | declined |",
              "|---|---|---|---|---|"]
    lines += [f"| {kind} | {row['questions']} | {row['answered right']} | "
              f"{row['answered wrong']} | {row['declined']} |" for kind, row in table.items()]
    lines += ["", "## Where the misses come from (out of fold)", "",
              "Each miss counted once, at the first step that went wrong.", ""]
    lines += causes_table(missed)
    (work / "report.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


def main(args: argparse.Namespace) -> int:
    calibration = run(args.pool, args.corpus, args.answerable, args.negatives, args.work,
                      args.out, reworded=args.reworded, paraphrases=args.paraphrased)
    meta = calibration.meta
    print(f"Fitted on {meta['questions']} questions ({meta['answerable']} answerable, "
          f"{meta['negatives']} evidence-removal negatives) in {meta['seconds']} s.")
    print(f"support model: CV AUROC {meta['support']['cv_auroc']}, answer model: CV AUROC "
          f"{meta['answer']['cv_auroc']}, Brier {meta['answer']['cv_brier']}")
    print(f"Wrote {args.out} and {args.work / 'report.md'}")
    return 0
