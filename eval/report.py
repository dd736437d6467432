"""Scores per question, metrics per system, and the report files: report.md,
report.json, predictions.jsonl (per system) and chart.png."""

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
    ("citation_precision", "Citation precision"),
    ("citation_recall", "Citation recall (correct answers with a right citation)"),
    ("quotes_exact", "Quotes exact at their offsets"),
    ("retrieval_recall", "Retrieval recall@k"),
    ("retrieval_mrr", "Retrieval MRR"),
    ("overall_accuracy", "Overall (answered right or rightly abstained)"),
]
LATENCY = ("total", "retrieve", "generate")


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
    return {
        "id": question.id, "kind": question.kind, "tags": list(question.tags),
        "answerable": question.answerable, "question": question.question,
        "expected": list(question.answers), "answer": prediction.answer,
        "abstained": prediction.abstained, "correct": bool(correct),
        "exact_match": metrics.exact_match(answer_only, question.answers) if question.answerable else 0.0,
        "f1": metrics.token_f1(answer_only, question.answers) if question.answerable else 0.0,
        "citations": len(prediction.citations), "good_citations": good_citations,
        "exact_quotes": exact_quotes, "retrieval_recall": recall, "retrieval_rr": rr,
        "timings": prediction.timings,
    }


THRESHOLDS = [round(0.05 * i, 2) for i in range(0, 17)]


def tradeoff(predictions: list[Prediction], questions: list[Question],
             current: float | None) -> list[dict] | None:
    """Abstention accuracy, false abstentions and answer accuracy had the assistant
    abstained below each confidence threshold (answers that fail a hard check, with
    confidence 0, abstain at every threshold)."""
    if not predictions or any(p.confidence is None for p in predictions):
        return None
    by_id = {q.id: q for q in questions}
    table = []
    for threshold in THRESHOLDS:
        answerable = unanswerable = right = abstain_right = abstain_wrong = 0
        for prediction in predictions:
            question = by_id[prediction.id]
            abstains = prediction.confidence == 0.0 or prediction.confidence < threshold
            if question.answerable:
                answerable += 1
                abstain_wrong += abstains
                right += (not abstains) and metrics.contains_answer(
                    prediction.draft or prediction.answer, question.answers)
            else:
                unanswerable += 1
                abstain_right += abstains
        table.append({
            "threshold": threshold,
            "abstention_accuracy": _rate(abstain_right, unanswerable),
            "false_abstention_rate": _rate(abstain_wrong, answerable),
            "answer_accuracy": _rate(right, answerable),
            "current": current is not None and abs(threshold - current) < 1e-9,
        })
    return table


def _rate(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def aggregate(rows: list[dict]) -> dict:
    """All headline metrics over a set of scored questions."""
    answerable = [r for r in rows if r["answerable"]]
    unanswerable = [r for r in rows if not r["answerable"]]
    cited = sum(r["citations"] for r in rows)
    correct = [r for r in answerable if r["correct"]]
    result = {
        "questions": len(rows),
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        "answer_accuracy": _rate(len(correct), len(answerable)),
        "exact_match": _rate(sum(r["exact_match"] for r in answerable), len(answerable)),
        "f1": _rate(sum(r["f1"] for r in answerable), len(answerable)),
        "abstention_accuracy": _rate(sum(r["abstained"] for r in unanswerable), len(unanswerable)),
        "false_abstention_rate": _rate(sum(r["abstained"] for r in answerable), len(answerable)),
        "citation_precision": _rate(sum(r["good_citations"] for r in rows), cited),
        "citation_recall": _rate(sum(r["good_citations"] > 0 for r in correct), len(correct)),
        "quotes_exact": _rate(sum(r["exact_quotes"] for r in rows), cited),
        "retrieval_recall": _rate(sum(r["retrieval_recall"] for r in answerable), len(answerable)),
        "retrieval_mrr": _rate(sum(r["retrieval_rr"] for r in answerable), len(answerable)),
        "overall_accuracy": _rate(len(correct) + sum(r["abstained"] for r in unanswerable),
                                  len(rows)),
        "citations": cited,
    }
    for stage in LATENCY:
        values = [r["timings"][stage] for r in rows if stage in r["timings"]]
        result[f"{stage}_median_s"] = metrics.median(values)
        result[f"{stage}_p95_s"] = metrics.percentile(values, 95)
    return result


def by_group(rows: list[dict]) -> dict[str, dict]:
    """Metrics per kind, and per tag."""
    groups: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        groups[row["kind"]].append(row)
        for tag in row["tags"]:
            groups[f"tag:{tag}"].append(row)
    order = [k for k in KINDS if k in groups] + sorted(k for k in groups if k.startswith("tag:"))
    return {name: aggregate(groups[name]) for name in order}


def _fmt(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


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
                               "tradeoff": results[n].get("tradeoff")} for n in names}}
    (out / "report.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False))
    (out / "report.md").write_text(_markdown(results, config), encoding="utf-8")
    _chart(out / "chart.png", results)


def _markdown(results: dict[str, dict], config: dict) -> str:
    names = list(results)
    lines = [f"# Eval report: {config.get('dataset_name', '')}", ""]
    lines += [f"- {k}: `{v}`" for k, v in config.items()]
    lines += ["", "## Headline", "", "| metric | " + " | ".join(names) + " |",
              "|---|" + "---|" * len(names)]
    for key, label in HEADLINE:
        lines.append(f"| {label} | " + " | ".join(_fmt(results[n]["metrics"][key]) for n in names)
                     + " |")
    for stage in LATENCY:
        lines.append(f"| {stage} s, median / p95 | " + " | ".join(
            f"{results[n]['metrics'][f'{stage}_median_s']:.2f} / "
            f"{results[n]['metrics'][f'{stage}_p95_s']:.2f}" for n in names) + " |")
    lines += ["", f"Questions: {results[names[0]]['metrics']['questions']} "
              f"({results[names[0]]['metrics']['answerable']} answerable, "
              f"{results[names[0]]['metrics']['unanswerable']} unanswerable)."]

    lines += ["", "## By kind", ""]
    for name in names:
        lines += [f"### {name}", "", "| kind | n | accuracy | citation precision | recall@k | "
                  "median total s |", "|---|---|---|---|---|---|"]
        for group, m in results[name]["groups"].items():
            accuracy = m["answer_accuracy"] if m["answerable"] else m["abstention_accuracy"]
            lines.append(f"| {group} | {m['questions']} | {_fmt(accuracy)} | "
                         f"{_fmt(m['citation_precision'])} | {_fmt(m['retrieval_recall'])} | "
                         f"{m['total_median_s']:.2f} |")
        lines.append("")

    for name in names:
        tradeoff = results[name].get("tradeoff")
        if tradeoff:
            lines += [f"## Abstention trade-off ({name})", "",
                      "| threshold | abstention accuracy | false abstentions | answer accuracy |",
                      "|---|---|---|---|"]
            for row in tradeoff:
                marker = " (in use)" if row.get("current") else ""
                lines.append(f"| {row['threshold']:.2f}{marker} | "
                              f"{_fmt(row['abstention_accuracy'])} | "
                              f"{_fmt(row['false_abstention_rate'])} | "
                              f"{_fmt(row['answer_accuracy'])} |")
            lines.append("")

    for name in names:
        failures = [r for r in results[name]["rows"]
                    if (r["answerable"] and not r["correct"]) or
                    (not r["answerable"] and not r["abstained"])]
        lines += [f"## Failures ({name}): {len(failures)}", ""]
        if failures:
            lines += ["| id | kind | question | expected | got |", "|---|---|---|---|---|"]
            for r in failures:
                expected = " / ".join(r["expected"]) or "(abstain)"
                got = r["answer"].replace("\n", " ").replace("|", "\\|")
                lines.append(f"| {r['id']} | {r['kind']} | {r['question']} | {expected} | {got} |")
        lines.append("")
    return "\n".join(lines)


def _chart(path: Path, results: dict[str, dict]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(results)
    groups = [g for g in results[names[0]]["groups"] if not g.startswith("tag:")]
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
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
    right.boxplot([[r["timings"].get("total", 0.0) for r in results[n]["rows"]] for n in names],
                  tick_labels=names)
    right.set_ylabel("seconds per answer")
    right.set_title("Latency (total per question)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
