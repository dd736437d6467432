"""Hybrid retrieval on the bundled article with the real embedder and Chroma."""

from __future__ import annotations

from dataclasses import replace

import pytest

from rag.retrieve import Retriever

SEED = [
    ("What are the exercises called?", "Allied Resolve 2022"),
    ("How many Russian troops does the US think will surge into Belarus?", "30,000"),
    ("How many warships did Russia send to the Black Sea?", "six warships"),
    ("Who is overseeing the games with his Belarussian counterpart?", "Gerasimov"),
    ("What did the French Foreign Minister call the drills?", "a very violent gesture"),
    ("When are the troops supposed to go home?", "Feb.20"),
    ("Who said the warning time for an attack is going down?", "Jens Stoltenberg"),
    ("How long is the border between Belarus and Ukraine?", "1,000km"),
    ("Why did the Pentagon talk to the Belarusian military?", "miscalculation"),
]


@pytest.fixture(scope="module")
def retriever(corpus_index):
    return Retriever(corpus_index, k=4)


@pytest.mark.parametrize(("question", "fact"), SEED)
def test_the_passage_with_the_fact_is_retrieved(retriever, question, fact):
    passages = retriever.retrieve(question)
    assert any(fact in p.text for p in passages), [p.text for p in passages]


def test_the_fact_is_usually_in_the_first_passage(retriever):
    first = sum(fact in retriever.retrieve(question)[0].text for question, fact in SEED)
    assert first >= len(SEED) - 2


def test_passages_are_exact_spans_and_do_not_overlap(retriever, corpus_index):
    for question, _ in SEED:
        passages = retriever.retrieve(question)
        assert len(passages) == 4
        for p in passages:
            assert corpus_index.catalog.document(p.source).text[p.start:p.end] == p.text
        spans = sorted((p.start, p.end) for p in passages)
        assert all(a_end < b_start for (_, a_end), (b_start, _) in zip(spans, spans[1:]))


def test_keyword_search_finds_a_rare_word_dense_search_may_miss(retriever, corpus_index):
    keyword_hits = corpus_index.keyword_search("MarQs", 3)
    assert keyword_hits and "MarQs" in keyword_hits[0].text


def test_excluded_spans_are_left_out_as_if_not_indexed(retriever, corpus_index):
    question = "How many warships did Russia send to the Black Sea?"
    [holder] = [p for p in retriever.retrieve(question) if "six warships" in p.text]
    hidden = (holder.source, holder.start, holder.end)
    passages = retriever.retrieve(question, exclude=[hidden])
    assert len(passages) == 4
    assert all(not (p.source == holder.source and p.start < holder.end and holder.start < p.end)
               for p in passages)
    assert not any("six warships" in p.text for p in passages)


def test_neighbours_of_the_best_sentences_join_the_context(retriever, embedder):
    from rag.focus import SentenceRanker, focus
    from rag.vectors import Vectors

    question = "How many warships did Russia send to the Black Sea?"
    passages = retriever.retrieve(question)
    ranked = SentenceRanker().rank(question, passages, Vectors(embedder.embed_texts))
    plain = focus(ranked, 2)
    wider = focus(ranked, 2, neighbours=1)
    plain_chars = sum(len(p.text) for p in plain)
    assert sum(len(p.text) for p in wider) > plain_chars
    best = ranked[0]
    assert any(p.start <= best.start and best.end <= p.end for p in wider)
    order = sorted(ranked, key=lambda s: (s.passage.source, s.start))
    i = order.index(best)
    for j in (i - 1, i + 1):
        if 0 <= j < len(order) and order[j].passage is best.passage:
            assert any(p.start <= order[j].start and order[j].end <= p.end for p in wider)
    for p in wider:
        assert p.text == p.text.strip() and p.text in retriever.index.catalog.document(
            p.source).text


def test_merge_keeps_the_first_search_and_adds_what_it_missed(retriever):
    from rag.retrieve import merge

    first = retriever.retrieve("How many warships did Russia send to the Black Sea?")
    second = retriever.retrieve("Who said the warning time for an attack is going down?")
    merged = merge(first, second)
    assert merged[:len(first)] == [replace(p, number=n) for n, p in enumerate(first, 1)]
    assert [p.number for p in merged] == list(range(1, len(merged) + 1))
    for i, a in enumerate(merged):
        assert all(a.source != b.source or a.end <= b.start or b.end <= a.start
                   for b in merged[i + 1:])
    assert any("Stoltenberg" in p.text for p in merged)


def test_blend_ranks_by_question_and_guess_and_keeps_the_question_score(retriever, embedder):
    from rag.focus import SentenceRanker, blend
    from rag.vectors import Vectors

    question = "What did Moscow do with its navy?"
    wider = question + " Russia sent six warships from the Mediterranean Sea to the Black Sea."
    passages = retriever.retrieve(question)
    vectors = Vectors(embedder.embed_texts)
    ranker = SentenceRanker()
    plain, guessed = ranker.rank(question, passages, vectors), ranker.rank(wider, passages, vectors)
    assert blend(plain, guessed, 0.0) == plain
    mixed = blend(plain, guessed, 0.25)
    assert sorted(mixed, key=lambda s: (s.passage.source, s.start)) == sorted(
        plain, key=lambda s: (s.passage.source, s.start))
    warships = next(i for i, s in enumerate(mixed) if "six warships" in s.text)
    assert warships < next(i for i, s in enumerate(plain) if "six warships" in s.text)
    assert mixed[warships].score == next(s.score for s in plain if "six warships" in s.text)
