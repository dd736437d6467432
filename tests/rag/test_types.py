"""`Answer.summary()`: the one JSON shape of `rag ask --json` and the app's `/ask`."""

import json

from rag.types import Answer, Citation, Passage

TEXT = "Russia sent six warships to the Black Sea. The fleet left Sevastopol."


def passage(number: int, start: int, end: int, score: float) -> Passage:
    return Passage(number=number, source="/docs/news.txt", title="News", start=start, end=end,
                   text=TEXT[start:end], score=score, similarity=0.5)


def test_summary_lists_citations_and_every_passage_best_first_as_json():
    first, second = passage(1, 0, 42, 0.2), passage(2, 43, len(TEXT), 0.9)
    answer = Answer(question="How many warships?", text="Six warships [1].",
                    citations=[Citation(1, "/docs/news.txt", "News", 0, 42, TEXT[:42],
                                        passage=1)],
                    abstained=False, passages=[first, second],
                    timings={"total": 1.23456}, confidence=0.8766)

    summary = json.loads(json.dumps(answer.summary()))

    assert summary["answer"] == "Six warships [1]."
    assert summary["confidence"] == 0.877
    assert summary["timings"] == {"total": 1.235}
    assert summary["citations"] == [{"marker": 1, "source": "/docs/news.txt", "title": "News",
                                     "start": 0, "end": 42, "quote": TEXT[:42], "page": None}]
    assert [p["text"] for p in summary["passages"]] == [second.text, first.text]
    assert all(TEXT[p["start"]:p["end"]] == p["text"] for p in summary["passages"])
