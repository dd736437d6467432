"""The Assistant's plumbing, exactly, with a scripted chat model over the real index.

Answer quality with the real model is tested in test_local_model.py and the eval.
"""

from __future__ import annotations

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel

import rag
from rag import (
    Answer,
    Assistant,
    Citation,
    ConfigError,
    EmptyIndexError,
    InputError,
    Passage,
    PathNotFoundError,
    Settings,
)


def scripted(*responses: str) -> FakeListChatModel:
    return FakeListChatModel(responses=list(responses))


def test_public_api_names_are_pinned():
    assert sorted(rag.__all__) == sorted([
        "Answer", "Assistant", "BACKENDS", "BackendError", "Citation", "ConfigError",
        "DocumentInfo", "EmptyIndexError", "IndexUnavailableError", "IngestReport", "InputError",
        "ModelUnavailableError", "Passage", "PathNotFoundError", "RagError", "Settings",
        "SkippedFile",
    ])
    fields = {f for f in Citation.__dataclass_fields__}
    assert {"marker", "source", "title", "start", "end", "quote"} <= fields
    assert {"text", "citations", "abstained", "passages", "timings"} <= set(
        Answer.__dataclass_fields__)


def test_answer_carries_checked_citations(corpus_settings, corpus_index):
    assistant = Assistant(corpus_settings, chat_model=scripted("Some 30,000 Russian troops [4]."))
    answer = assistant.ask("How many Russian troops will surge into Belarus?")
    assert not answer.abstained
    assert all(isinstance(p, Passage) for p in answer.passages)
    assert [p.number for p in answer.passages] == list(range(1, len(answer.passages) + 1))
    [citation] = answer.citations
    assert citation.marker == 1
    passage = answer.passages[citation.passage - 1]
    assert passage.start <= citation.start < citation.end <= passage.end
    assert "30,000" in citation.quote
    document = corpus_index.catalog.document(citation.source)
    assert document.text[citation.start:citation.end] == citation.quote
    assert answer.text == f"Some 30,000 Russian troops [{citation.marker}]."
    assert answer.draft == "Some 30,000 Russian troops [4]."
    assert set(answer.timings) >= {"retrieve", "generate", "check", "total"}
    assert answer.standalone_question == answer.question


def test_stream_yields_text_then_the_answer(corpus_settings):
    draft = "Russia sent six warships [1]."
    assistant = Assistant(corpus_settings, chat_model=scripted(draft))
    items = list(assistant.stream("How many warships did Russia send?"))
    assert all(isinstance(i, str) for i in items[:-1]) and len(items) > 2
    assert "".join(items[:-1]) == draft
    assert isinstance(items[-1], Answer) and items[-1].citations


@pytest.mark.parametrize("draft", ["The documents do not say.",
                                   "The population of Belarus is 9.2 million [1]."])
def test_abstains_when_the_model_says_so_or_nothing_supports_it(corpus_settings, draft):
    assistant = Assistant(corpus_settings, chat_model=scripted(draft))
    answer = assistant.ask("What is the population of Belarus?")
    assert answer.abstained
    assert answer.citations == []
    assert answer.text == "The documents do not say."


def test_follow_up_is_rewritten_before_retrieval(corpus_settings):
    assistant = Assistant(corpus_settings, chat_model=scripted(
        "How many warships did Russia send to the Black Sea?", "Six warships [1]."))
    history = [("user", "How many troops will surge into Belarus?"),
               ("assistant", "Some 30,000 Russian troops [1].")]
    answer = assistant.ask("And how many warships?", history=history)
    assert answer.standalone_question == "How many warships did Russia send to the Black Sea?"
    assert answer.question == "And how many warships?"
    assert "rewrite" in answer.timings
    assert any("six warships" in c.quote for c in answer.citations)


def test_each_stage_is_announced_as_it_starts_before_its_text(corpus_settings):
    assistant = Assistant(corpus_settings, chat_model=scripted(
        "How many warships did Russia send to the Black Sea?", "Six warships [1]."))
    seen: list[str] = []
    history = [("user", "How many troops will surge into Belarus?"),
               ("assistant", "Some 30,000 Russian troops [1].")]
    for item in assistant.stream("And how many warships?", history, on_step=seen.append):
        seen.append("answer" if isinstance(item, Answer) else "text")
    steps = [s for i, s in enumerate(seen) if s != "text" or seen[i - 1] != "text"]
    assert steps == ["rewrite", "retrieve", "generate", "text", "check", "answer"]


def test_a_question_the_documents_match_poorly_is_searched_again_with_a_guess(corpus_settings):
    question = "What did Moscow do with its navy?"
    guess = "Moscow sent its warships to the Black Sea."
    settings = Settings(index_dir=corpus_settings.index_dir, guess_below=1.0)
    assistant = Assistant(settings, chat_model=scripted(guess + "\nMore.", "Six warships [1]."))
    searched: list[str] = []
    retrieve = assistant.retriever.retrieve
    assistant.retriever.retrieve = lambda q, **kw: searched.append(q) or retrieve(q, **kw)
    steps: list[str] = []
    answer = [item for item in assistant.stream(question, on_step=steps.append)][-1]
    assert searched == [question, f"{question} {guess}"]
    assert steps == ["retrieve", "guess", "generate", "check"]
    assert answer.timings["guess"] > 0 and answer.draft == "Six warships [1]."
    assert answer.guess == guess  # its first line
    assert any("six warships" in p.text for p in answer.passages)

    never = Assistant(Settings(index_dir=corpus_settings.index_dir, guess_below=0.0),
                      chat_model=scripted("Six warships [1]."))
    answer = never.ask(question)
    assert "guess" not in answer.timings and answer.draft == "Six warships [1]."
    assert answer.guess == ""


def test_passages_the_guess_found_weigh_their_similarity_to_the_question(corpus_settings):
    from rag.vectors import Vectors

    question = "Who is the leader of the alliance?"
    guess = "The Secretary General of NATO, Jens Stoltenberg, warned of the risk of conflict."
    settings = Settings(index_dir=corpus_settings.index_dir, guess_below=1.0,
                        context_sentences=0)
    assistant = Assistant(settings, chat_model=scripted("unused"))
    vectors = Vectors(assistant.index.embedder.embed_texts)
    plain = assistant.retriever.retrieve(question)
    _, read = assistant.read(question, vectors, guess=lambda _: guess)
    added = read[len(plain):]
    assert added and [p.similarity for p in read[:len(plain)]] == [p.similarity for p in plain]
    for passage in added:  # to the question alone, not to the question with the guess
        assert passage.similarity == pytest.approx(
            float(vectors.similarity(question, [passage.text])[0]), abs=1e-6)
        assert passage.similarity != pytest.approx(
            float(vectors.similarity(f"{question} {guess}", [passage.text])[0]), abs=1e-3)


@pytest.mark.parametrize("question", ["", "   \n "])
def test_empty_question_is_refused(corpus_settings, question):
    with pytest.raises(InputError, match="empty"):
        Assistant(corpus_settings, chat_model=scripted("x")).ask(question)


def test_unknown_backend_lists_the_choices(tmp_path):
    with pytest.raises(ConfigError, match="local, extractive, openai, ollama"):
        Settings(index_dir=tmp_path, backend="gpt5")
    with pytest.raises(ConfigError, match="local, extractive"):
        Assistant(Settings(index_dir=tmp_path)).ask("Who?", backend="gpt5")


def test_settings_come_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("RAG_INDEX_DIR", str(tmp_path / "from-env"))
    monkeypatch.setenv("RAG_K", "6")
    settings = Settings()
    assert settings.index_dir == tmp_path / "from-env" and settings.k == 6
    monkeypatch.setenv("RAG_CHUNK_OVERLAP", "900")
    with pytest.raises(ConfigError, match="chunk_overlap"):
        Settings()


def test_no_index_yet_is_a_clear_error_and_creates_nothing(tmp_path):
    index_dir = tmp_path / "never-made"
    with pytest.raises(EmptyIndexError, match="rag ingest"):
        Assistant(Settings(index_dir=index_dir), chat_model=scripted("x")).ask("Who?")
    assert not index_dir.exists()


def test_missing_path_is_a_clear_error(tmp_path):
    with pytest.raises(PathNotFoundError, match="No such file or folder"):
        Assistant(Settings(index_dir=tmp_path / "ix")).ingest([tmp_path / "nope"])


def test_extractive_backend_quotes_a_sentence(corpus_settings):
    answer = Assistant(corpus_settings).ask("How many warships did Russia send?",
                                            backend="extractive")
    assert not answer.abstained
    assert "six warships" in answer.text
    assert answer.citations and "six warships" in answer.citations[0].quote


def test_history_loses_citation_markers_before_rewriting():
    from rag.conversation import normalise_history

    turns = normalise_history([("user", "How many troops?"),
                               {"role": "assistant", "content": "Some 30,000 [1][2], six [1, 3]."}])
    assert turns == [("user", "How many troops?"), ("assistant", "Some 30,000, six.")]
