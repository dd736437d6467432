"""Evidence-removal negatives: answerable questions turned unanswerable.

A question is asked with the paragraphs of its gold evidence hidden from retrieval; when no other
paragraph of its document (title line included) contains any of its answers
(SQuAD-normalised, whole words), the index no longer holds the answer, yet the rest
of the document is still about the question's topic. That is the hardest kind of
question to decline, and the way retrieval benchmarks test negative rejection (RGB,
Chen et al. 2024).
"""

from __future__ import annotations

from dataclasses import replace

from eval.dataset import Question
from eval.metrics import contains_answer, evidence_spans, overlap
from index.splitter import paragraph_spans

SUFFIX = "-removed"


def evidence_removed(questions: list[Question], documents: dict[str, str]) -> list[Question]:
    """The unanswerable counterparts of those `questions` whose answers occur nowhere in
    their document outside the evidence; `documents` maps file name to text."""
    negatives = []
    for question in questions:
        text = documents.get(question.doc)
        if not question.answerable or text is None:
            continue
        evidence = evidence_spans(text, question.evidence)
        paragraphs = paragraph_spans(text)
        hidden = [p for p in paragraphs if any(overlap(p, span) for span in evidence)]
        elsewhere = any(contains_answer(text[start:end], question.answers)
                        for start, end in paragraphs if (start, end) not in hidden)
        if hidden and not elsewhere:
            negatives.append(replace(question, id=question.id + SUFFIX, answers=(),
                                     evidence=(), kind="unanswerable",
                                     tags=(*question.tags, "evidence-removed"),
                                     removed=tuple(text[s:e] for s, e in hidden)))
    return negatives
