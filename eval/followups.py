"""Follow-up questions made from a SQuAD-style file, the way people ask them in a chat:
`python -m eval.followups TARGETS LEADS OUT`.

"How many warships did Russia send?" asked after another question about the same
paragraph becomes "And how many warships?", with the earlier question and its answer
(the sentence of the paragraph that states it, as the chat would answer) as the
conversation. The follow-up is scored against the full question's answers, so
the assistant must recover what the follow-up leaves out: from the conversation, or
from the documents when the counted thing is named in one paragraph of the article
only. Pairs where neither holds (the conversation does not name the follow-up's people,
places or dates, and the thing is named elsewhere in the article too) are left out:
no reader could tell what they ask. So are pairs whose earlier answer already states
the follow-up's answer.

TARGETS are the questions scored (use questions.jsonl for reported figures and the pool
for development); LEADS supply the earlier turn and must carry `para`-free evidence
paragraphs shared with the targets (the pool does). Deterministic: same files, same
output.
"""

from __future__ import annotations

import argparse
import json
import re
from collections import defaultdict
from pathlib import Path

from eval.metrics import contains_answer
from index.splitter import sentence_spans
from index.text import content_words

_AUXILIARIES = frozenset(
    "did does do was were is are has have had can could will would should may might must"
    .split())
_ELLIPTICAL = re.compile(r"(?i)^how (many|much) (.+?)\??$")
_NAMES = re.compile(r"\b(?:[A-Z][\w'’-]*|\d[\d,.]*)\b")


def elliptical(question: str) -> tuple[str, str] | None:
    """("And how many warships?", "warships") for "How many warships did Russia send?";
    None for questions of another shape."""
    match = _ELLIPTICAL.match(question.strip())
    if not match:
        return None
    words = match.group(2).split()
    for position, word in enumerate(words[:5]):
        if word.lower() in _AUXILIARIES:
            if position == 0:
                return None
            thing = " ".join(words[:position])
            return f"And how {match.group(1).lower()} {thing}?", thing
    return None


def _mentions(text: str, phrase: str) -> int:
    return len(re.findall(rf"(?<!\w){re.escape(phrase)}(?!\w)", text, re.IGNORECASE))


def recoverable(target: dict, thing: str, lead: dict, article: str) -> bool:
    """Whether a reader could tell what the follow-up asks: the conversation names the
    target's people, places and dates, or the article names the thing in the target's
    paragraph only."""
    rest = target["question"].split(thing, 1)[-1]
    said = set(re.findall(r"[\w'’-]+", f"{lead['question']} {lead['answers'][0]}".lower()))
    names = [name for name in _NAMES.findall(rest) if name.lower() not in _AUXILIARIES]
    named_in_conversation = all(name.lower() in said for name in names)
    one_paragraph = _mentions(article, thing) == _mentions(target["evidence"], thing) > 0
    return named_in_conversation or one_paragraph


def _answered(lead: dict) -> str:
    """The earlier answer as the chat shows one: the sentence of its paragraph that
    states it (the assistant answers in a sentence, quoting its source)."""
    paragraph = lead["evidence"]
    for start, end in sentence_spans(paragraph):
        if contains_answer(paragraph[start:end], lead["answers"][:1]):
            return paragraph[start:end].strip()
    return f"{lead['answers'][0]}."


def build(targets: list[dict], leads: list[dict], corpus: Path) -> list[dict]:
    by_paragraph = defaultdict(list)
    for lead in leads:
        by_paragraph[lead["evidence"]].append(lead)
    rows = []
    articles: dict[str, str] = {}
    for target in targets:
        made = elliptical(target["question"])
        if made is None or not contains_answer(target["evidence"], target["answers"]):
            continue
        follow_up, thing = made
        if target["doc"] not in articles:
            articles[target["doc"]] = (corpus / target["doc"]).read_text(encoding="utf-8")
        article = articles[target["doc"]]
        for lead in by_paragraph[target["evidence"]]:
            if (lead["id"] == target["id"] or _mentions(lead["question"], thing)
                    or content_words(lead["question"]) >= content_words(target["question"])):
                continue
            said = _answered(lead)
            if contains_answer(said, target["answers"]):
                continue
            if recoverable(target, thing, lead, article):
                rows.append({
                    "id": f"followup-{target['id']}", "question": follow_up,
                    "answers": target["answers"], "evidence": target["evidence"],
                    "kind": target["kind"], "doc": target["doc"], "tags": ["follow-up"],
                    "history": [["user", lead["question"]], ["assistant", said]],
                    "full_question": target["question"],
                })
                break
    # The same follow-up after the same turn, with different answers: ambiguous.
    seen = defaultdict(int)
    for row in rows:
        seen[row["question"], row["history"][0][1]] += 1
    return [row for row in rows if seen[row["question"], row["history"][0][1]] == 1]


def _read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("targets", type=Path, help="questions to turn into follow-ups")
    parser.add_argument("leads", type=Path, help="questions that may open the conversation")
    parser.add_argument("out", type=Path, help="where the follow-ups go (JSON lines)")
    parser.add_argument("--corpus", type=Path, default=None,
                        help="the articles (default: corpus/ beside TARGETS)")
    args = parser.parse_args(argv)
    corpus = args.corpus or args.targets.parent / "corpus"
    rows = build(_read(args.targets), _read(args.leads), corpus)
    args.out.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))
    print(f"{len(rows)} follow-ups -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
