"""Scores per question, metrics per system, and the report files: report.md,
report.json, predictions.jsonl (per system) and chart.png.

Every rate carries a 95% Wilson interval (for a mean of scores between 0 and 1, such
as F1, taken on their sum). The report says which question sets were
held out, i.e. never used to fit or tune the decision models (`rag calibrate` records
the file it fitted on). Selective answering is shown the way Kamath, Jia & Liang
(2020) judge it: a risk-coverage curve (answer the most probable answers first: how
many are wrong among those given?), its area, and a reliability diagram (does a
predicted 0.7 come true 70% of the time?).
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from eval import metrics
from eval.dataset import KINDS, Question
from eval.systems import Prediction

HEADLINE = [
    ("answer_accuracy", "Answer accuracy (answerable, alias in answer)"),
    ("exact_match", "Exact match (SQuAD)"),
    ("f1", "Token F1 (SQuAD)"),
    ("abstention_accuracy", "Abstention accuracy (unanswerable)"),
    ("false_abstention_rate", "False abstentions (answerable)"),
    ("wrong_among_answered", "Wrong answers among the answers given"),
    ("citation_precision", "Citation precision"),
    ("citation_recall", "Citation recall (correct answers with a right citation)"),
    ("quotes_exact", "Quotes exact at their offsets"),
    ("context_recall", "Context recall (gold evidence among the passages the model read)"),
    ("context_mrr", "Context MRR"),
    ("overall_accuracy", "Overall (answered right or rightly abstained)"),
    ("aurc", "Risk-coverage area (lower is better)"),
]
RATES = {
    # metric: (numerator key, denominator key) in the aggregate counts
    "answer_accuracy": ("n_correct", "answerable"),
    "abstention_accuracy": ("n_abstained_unanswerable", "unanswerable"),
    "false_abstention_rate": ("n_abstained_answerable", "answerable"),
    "wrong_among_answered": ("n_wrong_answered", "n_answered"),
    "citation_precision": ("n_good_citations", "citations"),
    "citation_recall": ("n_cited_correct", "n_correct"),
    "quotes_exact": ("n_exact_quotes", "citations"),
    "overall_accuracy": ("n_overall", "questions"),
}
MEANS = {
    # metric: per-question score from 0 to 1 averaged over the answerable questions (a
    # question's evidence may be found in part); Wilson's interval on their sum (see
    # `metrics.wilson`)
    "exact_match": "exact_match", "f1": "f1", "context_recall": "context_recall",
    "context_mrr": "context_rr",
}
LATENCY = ("total", "retrieve", "generate", "judge")
THRESHOLDS = [round(0.1 * i, 1) for i in range(0, 10)]


def _same_doc(source: str, doc: str) -> bool:
    return Path(source).name == doc


def score(question: Question, prediction: Prediction, document: str) -> dict:
    """Every per-question measure, from the question, the prediction and the gold
    document's text."""
    spans = metrics.evidence_spans(document, question.evidence) if question.answerable else []
    correct = (question.answerable and not prediction.abstained
               and metrics.contains_answer(prediction.answer, question.answers))
    good_citations = 0
    exact_quotes = 0
    for citation in prediction.citations:
        text = prediction.document_texts.get(citation["source"], "")
        exact_quotes += text[citation["start"]:citation["end"]] == citation["quote"]
        if question.answerable and _same_doc(citation["source"], question.doc):
            good_citations += metrics.citation_supports(
                (citation["start"], citation["end"]), citation["quote"], spans, question.answers)
        elif question.answerable:
            good_citations += metrics.contains_answer(citation["quote"], question.answers)
    recall, rr = metrics.retrieval_ranks(
        [((p["start"], p["end"]), p["text"], _same_doc(p["source"], question.doc))
         for p in prediction.passages],
        spans, question.answers)
    answer_only = "" if prediction.abstained else prediction.answer
    draft_right = bool(question.answerable and metrics.contains_answer(
        prediction.draft or prediction.answer, question.answers))
    # What a threshold sweep scores: the answer given where there is one, and the draft
    # as the checks left it where it was declined, since a lower threshold would give
    # that (and the decision's model is fitted on it). Runs from before 2026-11-29 kept
    # only the unchecked draft.
    if not prediction.abstained:
        would_be_right = correct
    elif prediction.checked:
        would_be_right = question.answerable and metrics.contains_answer(
            prediction.checked, question.answers)
    else:
        would_be_right = draft_right
    return {
        "id": question.id, "kind": question.kind, "tags": list(question.tags),
        "answerable": question.answerable, "question": question.question,
        "expected": list(question.answers), "answer": prediction.answer,
        "abstained": prediction.abstained, "correct": bool(correct),
        "exact_match": metrics.exact_match(answer_only, question.answers) if question.answerable else 0.0,
        "f1": metrics.token_f1(answer_only, question.answers) if question.answerable else 0.0,
        "citations": len(prediction.citations), "good_citations": good_citations,
        "exact_quotes": exact_quotes, "context_recall": recall, "context_rr": rr,
        "has_evidence": bool(spans),
        "timings": prediction.timings, "probability": prediction.confidence,
        "draft_right": draft_right, "would_be_right": bool(would_be_right), "reason": prediction.abstain_reason,
    }


def tradeoff(rows: list[dict], current: float | None) -> list[dict] | None:
    """What each probability threshold would give: decline when the chance the answer
    is right is below it (answers a certain check declines stay declined)."""
    if not rows or any(r["probability"] is None for r in rows):
        return None
    table = []
    for threshold in THRESHOLDS:
        answerable = [r for r in rows if r["answerable"]]
        unanswerable = [r for r in rows if not r["answerable"]]

        def answers(r: dict) -> bool:
            return r["probability"] > 0 and r["probability"] >= threshold

        given = [r for r in rows if answers(r)]
        right = sum(answers(r) and r["would_be_right"] for r in answerable)
        table.append({
            "threshold": threshold,
            "coverage": _rate(len(given), len(rows)),
            "risk": _rate(sum(not r["would_be_right"] for r in given), len(given)),
            "answer_accuracy": _rate(right, len(answerable)),
            "abstention_accuracy": _rate(sum(not answers(r) for r in unanswerable),
                                         len(unanswerable)),
            "false_abstention_rate": _rate(sum(not answers(r) for r in answerable),
                                           len(answerable)),
            "current": current is not None and abs(threshold - current) < 1e-9,
        })
    return table


def _rate(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def aggregate(rows: list[dict]) -> dict:
    """All headline metrics over a set of scored questions, with 95% intervals."""
    answerable = [r for r in rows if r["answerable"]]
    unanswerable = [r for r in rows if not r["answerable"]]
    correct = [r for r in answerable if r["correct"]]
    answered = [r for r in rows if not r["abstained"]]
    counts = {
        "questions": len(rows),
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        "citations": sum(r["citations"] for r in rows),
        "n_correct": len(correct),
        "n_abstained_unanswerable": sum(r["abstained"] for r in unanswerable),
        "n_abstained_answerable": sum(r["abstained"] for r in answerable),
        "n_answered": len(answered),
        "n_wrong_answered": sum(not r["correct"] for r in answered),
        "n_good_citations": sum(r["good_citations"] for r in rows),
        "n_cited_correct": sum(r["good_citations"] > 0 for r in correct),
        "n_exact_quotes": sum(r["exact_quotes"] for r in rows),
        "n_overall": len(correct) + sum(r["abstained"] for r in unanswerable),
    }
    result: dict = dict(counts)
    for name, (numerator, denominator) in RATES.items():
        result[name] = _rate(counts[numerator], counts[denominator])
        result[f"{name}_ci"] = metrics.wilson(counts[numerator], counts[denominator])
    for name, key in MEANS.items():
        values = [float(r[key]) for r in answerable]
        result[name] = metrics.mean(values) if values else None
        result[f"{name}_ci"] = metrics.wilson(sum(values), len(values))
    scored = [r for r in rows if r["probability"] is not None]
    result["aurc"] = (metrics.risk_coverage([r["probability"] for r in scored],
                                            [r["would_be_right"] for r in scored])["aurc"]
                      if scored and len(scored) == len(rows) else None)
    for stage in LATENCY:
        values = [r["timings"][stage] for r in rows if stage in r["timings"]]
        result[f"{stage}_median_s"] = metrics.median(values) if values else None
        result[f"{stage}_p95_s"] = metrics.percentile(values, 95) if values else None
    return result


CAUSES = {
    "not_in_context": "none of the answer's evidence was among what the model read",
    "wrong_draft_answered": "the draft was wrong and was given",
    "wrong_draft_declined": "the draft was wrong and was declined",
    "right_draft_declined": "the draft was right and was declined",
    "right_draft_changed": "the draft was right; the checks' edit of it was not",
    "unanswerable_answered": "an unanswerable question was answered",
}
"""Where each miss first went wrong, in pipeline order (`miss_causes`)."""


def miss_cause(row: dict) -> str | None:
    """Where a scored question first went wrong (a key of `CAUSES`); None when it was
    answered right or rightly declined."""
    if not row["answerable"]:
        return None if row["abstained"] else "unanswerable_answered"
    if row["correct"]:
        return None
    if row.get("has_evidence", True) and not row["context_recall"]:
        return "not_in_context"
    if not row.get("draft_right", row["would_be_right"]):
        return "wrong_draft_declined" if row["abstained"] else "wrong_draft_answered"
    return "right_draft_declined" if row["abstained"] else "right_draft_changed"


def miss_causes(rows: list[dict]) -> dict[str, int]:
    """How many misses each cause accounts for (every cause, zeros included)."""
    counts = dict.fromkeys(CAUSES, 0)
    for row in rows:
        if cause := miss_cause(row):
            counts[cause] += 1
    return counts


def causes_table(columns: dict[str, dict[str, int]]) -> list[str]:
    """The Markdown table of miss causes (rows) by column (systems, or kinds of question)."""
    lines = ["| cause | " + " | ".join(columns) + " |", "|---|" + "---|" * len(columns)]
    return lines + [f"| {label} | " + " | ".join(str(columns[c][cause]) for c in columns) + " |"
                    for cause, label in CAUSES.items()]


def by_group(rows: list[dict]) -> dict[str, dict]:
    """Metrics per kind, and per tag."""
    groups: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        groups[row["kind"]].append(row)
        for tag in row["tags"]:
            # An answerable question and its evidence-removal negative share their tags:
            # one group would show the first's accuracy over both, so they are two.
            groups[f"tag:{tag}" if row["answerable"] else f"tag:{tag} (unanswerable)"].append(row)
    order = [k for k in KINDS if k in groups] + sorted(k for k in groups if k.startswith("tag:"))
    return {name: aggregate(groups[name]) for name in order}


def _fmt(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def _with_ci(metrics_: dict, key: str) -> str:
    interval = metrics_.get(f"{key}_ci")
    if metrics_.get(key) is None or not interval:
        return _fmt(metrics_.get(key))
    return f"{metrics_[key]:.3f} [{interval[0]:.2f}, {interval[1]:.2f}]"


def _seconds(metrics_: dict, stage: str) -> str:
    if metrics_[f"{stage}_median_s"] is None:
        return "–"
    return f"{metrics_[f'{stage}_median_s']:.2f} / {metrics_[f'{stage}_p95_s']:.2f}"


def write_report(out: Path, results: dict[str, dict], config: dict) -> None:
    """results: system name -> {"rows": [...], "metrics": {...}, "groups": {...},
    "predictions": [Prediction...], plus optional "tradeoff": [...]}."""
    out.mkdir(parents=True, exist_ok=True)
    names = list(results)
    for name in names:
        target = out / ("predictions.jsonl" if name == names[0] else f"predictions-{name}.jsonl")
        with target.open("w", encoding="utf-8") as handle:
            for prediction in results[name]["predictions"]:
                handle.write(json.dumps(prediction.to_json(), ensure_ascii=False) + "\n")
    summary = {"config": config,
               "systems": {n: {"metrics": results[n]["metrics"], "by_kind": results[n]["groups"],
                               "tradeoff": results[n].get("tradeoff"),
                               "reliability": _reliability(results[n]["rows"]),
                               "miss_causes": miss_causes(results[n]["rows"]),
                               "risk_coverage": _curve(results[n]["rows"])}
                           for n in names}}
    (out / "report.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False))
    (out / "report.md").write_text(_markdown(results, config), encoding="utf-8")
    _chart(out / "chart.png", results)


def _scored(rows: list[dict]) -> list[dict]:
    return [r for r in rows if r["probability"] is not None]


def _reliability(rows: list[dict]) -> list[dict] | None:
    scored = [r for r in _scored(rows) if r["probability"] > 0]
    if not scored:
        return None
    return metrics.reliability([r["probability"] for r in scored],
                               [r["would_be_right"] for r in scored])


def _curve(rows: list[dict]) -> dict | None:
    scored = _scored(rows)
    if not scored or len(scored) != len(rows):
        return None
    return metrics.risk_coverage([r["probability"] for r in scored],
                                 [r["would_be_right"] for r in scored])


def _markdown(results: dict[str, dict], config: dict) -> str:
    names = list(results)
    lines = [f"# Eval report: {config.get('dataset_name', '')}", ""]
    lines += [f"- {k}: `{v}`" for k, v in config.items() if k not in ("held_out", "asked_with")]
    held = config.get("held_out", {})
    if held:
        lines += ["", "Question sets: " + "; ".join(
            f"`{name}` " + ("held out (never fitted or tuned on)" if out
                            else "FITTED OR TUNED ON: in-sample")
            for name, out in held.items())]
    lines += ["", "## Headline", "",
              "With 95% Wilson intervals (for F1, context recall and MRR, whose scores lie "
              "between 0 and 1, on their sum: conservative).", "",
              "| metric | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for key, label in HEADLINE:
        lines.append(f"| {label} | " + " | ".join(_with_ci(results[n]["metrics"], key)
                                                 for n in names) + " |")
    for stage in LATENCY:
        lines.append(f"| {stage} s, median / p95 | " + " | ".join(
            _seconds(results[n]["metrics"], stage) for n in names) + " |")
    first = results[names[0]]["metrics"]
    lines += ["", f"Questions: {first['questions']} ({first['answerable']} answerable, "
              f"{first['unanswerable']} unanswerable)."]

    lines += ["", "## By kind and tag", ""]
    for name in names:
        lines += [f"### {name}", "", "| group | n | accuracy (abstention for unanswerable) | "
                  "wrong among answered | citation precision | context recall | "
                  "median total s |", "|---|---|---|---|---|---|---|"]
        for group, m in results[name]["groups"].items():
            key = "answer_accuracy" if m["answerable"] else "abstention_accuracy"
            lines.append(f"| {group} | {m['questions']} | {_with_ci(m, key)} | "
                         f"{_with_ci(m, 'wrong_among_answered')} | "
                         f"{_fmt(m['citation_precision'])} | {_fmt(m['context_recall'])} | "
                         f"{_fmt(m['total_median_s'])} |")
        lines.append("")

    for name in names:
        table = results[name].get("tradeoff")
        if not table:
            continue
        lines += [f"## Abstention trade-off ({name})", "",
                  "Decline when the chance that the answer is right is below the threshold. "
                  "Coverage: share of questions answered; risk: share of those answers that "
                  "are wrong.", "",
                  "| threshold | coverage | risk | answer accuracy | abstention accuracy | "
                  "false abstentions |", "|---|---|---|---|---|---|"]
        for row in table:
            marker = " (in use)" if row.get("current") else ""
            lines.append(f"| {row['threshold']:.1f}{marker} | {_fmt(row['coverage'])} | "
                         f"{_fmt(row['risk'])} | {_fmt(row['answer_accuracy'])} | "
                         f"{_fmt(row['abstention_accuracy'])} | "
                         f"{_fmt(row['false_abstention_rate'])} |")
        lines.append("")
        bins = _reliability(results[name]["rows"])
        if bins:
            lines += [f"## Reliability ({name})", "", "Answers that no certain check declined, "
                      "by predicted chance of being right.", "",
                      "| predicted | answers | mean predicted | share right |",
                      "|---|---|---|---|"]
            lines += [f"| {b['low']:.1f}-{b['high']:.1f} | {b['n']} | {b['predicted']:.3f} | "
                      f"{b['observed']:.3f} |" for b in bins]
            lines.append("")

    lines += ["## Where the misses come from", "",
              "Each miss counted once, at the first step that went wrong.", ""]
    lines += causes_table({n: miss_causes(results[n]["rows"]) for n in names}) + [""]

    for name in names:
        failures = [r for r in results[name]["rows"]
                    if (r["answerable"] and not r["correct"]) or
                    (not r["answerable"] and not r["abstained"])]
        lines += [f"## Failures ({name}): {len(failures)}", ""]
        if failures:
            lines += ["| id | kind | question | expected | got | p | cause | why declined |",
                      "|---|---|---|---|---|---|---|---|"]
            for r in failures:
                expected = " / ".join(r["expected"]) or "(abstain)"
                got = r["answer"].replace("\n", " ").replace("|", "\\|")
                p = "–" if r["probability"] is None else f"{r['probability']:.2f}"
                lines.append(f"| {r['id']} | {r['kind']} | {r['question']} | {expected} | "
                             f"{got} | {p} | {miss_cause(r)} | {r['reason']} |")
        lines.append("")
    return "\n".join(lines)


def _chart(path: Path, results: dict[str, dict]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(results)
    groups = [g for g in results[names[0]]["groups"] if not g.startswith("tag:")]
    fig, axes = plt.subplots(1, 4, figsize=(20, 4.5))
    left, middle, right, latency = axes
    width = 0.8 / len(names)
    for i, name in enumerate(names):
        values = []
        for group in groups:
            m = results[name]["groups"].get(group)
            if m is None:
                values.append(0.0)
            else:
                values.append((m["answer_accuracy"] if m["answerable"]
                               else m["abstention_accuracy"]) or 0.0)
        left.bar([x + i * width for x in range(len(groups))], values, width, label=name)
    left.set_xticks([x + width * (len(names) - 1) / 2 for x in range(len(groups))], groups,
                    rotation=20)
    left.set_ylim(0, 1)
    left.set_ylabel("accuracy (abstention accuracy for unanswerable)")
    left.set_title("Accuracy by kind")
    left.legend()
    for name in names:
        curve = _curve(results[name]["rows"])
        if curve:
            middle.plot(curve["coverage"], curve["risk"], label=f"{name} (area "
                        f"{curve['aurc']:.3f})")
        bins = _reliability(results[name]["rows"])
        if bins:
            right.plot([b["predicted"] for b in bins], [b["observed"] for b in bins], "o-",
                       label=name)
    right.plot([0, 1], [0, 1], ":", color="grey", label="calibrated")
    for axes_, title, x, y in [
            (middle, "Risk-coverage", "coverage (share of questions answered)",
             "risk (share of answers wrong)"),
            (right, "Reliability", "predicted chance of being right", "share right")]:
        axes_.set(title=title, xlabel=x, ylabel=y, xlim=(0, 1), ylim=(0, 1))
        axes_.legend()
    latency.boxplot([[r["timings"].get("total", 0.0) for r in results[n]["rows"]]
                     for n in names], tick_labels=names)
    latency.set_ylabel("seconds per answer")
    latency.set_title("Latency (total per question)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
