"""The public API: `Assistant` ingests documents and answers questions with citations.

    assistant = Assistant(Settings(index_dir="my-index"))
    assistant.ingest(["corpus/"])
    answer = assistant.ask("What are the exercises called?")

One answer goes through the same stages whatever the backend: (rewrite a follow-up
into a standalone question) -> retrieve passages -> generate a draft (LangChain
chain: prompt | chat model | text) -> check the draft against the passages, repair
its citations -> ask the model whether the passages state its answer -> decide
whether to answer (`rag.decide`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, replace
from pathlib import Path

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.output_parsers import StrOutputParser

from index import DocumentInfo, Index, IngestReport
from index.catalog import Catalog
from index.embedder import ModelLoadError
from index.pipeline import Checkup
from index.splitter import paragraph_spans
from index.store import StoreError
from rag import llm
from rag.calibration import load_calibration
from rag.cite import CheckedAnswer, CitationChecker, Support
from rag.config import BACKENDS, Settings
from rag.conversation import (
    CONDENSE_SYSTEM,
    History,
    condense_prompt,
    needs_context,
    normalise_history,
)
from rag.decide import Decider, Signals
from rag.errors import (
    ConfigError,
    EmptyIndexError,
    IndexUnavailableError,
    InputError,
    ModelUnavailableError,
    PathNotFoundError,
)
from rag.extractive import extractive_answer
from rag.focus import ScoredSentence, SentenceRanker, blend, focus
from rag.prompt import (
    ANSWER_PROMPT,
    GUESS_PROMPT,
    GUESS_SYSTEM,
    JUDGE_PROMPT,
    NO_ANSWER,
    SYSTEM,
    format_passages,
)
from rag.retrieve import Retriever, Span, merge
from rag.script import CROSS_SCRIPT_TOKENS, cross_script
from rag.types import Answer, Passage
from rag.vectors import Vectors

MAX_QUESTION_CHARS = 2000
MAX_QUESTION_WORD_PIECES = 256
"""The embedding model reads no more of a question than this (its window)."""
CONTEXT_WINDOW = 20_000
"""Characters read on each side of a supporting span to find its paragraph."""
GUESS_TOKENS = 48
"""Longest guess at the answer's sentence, in tokens (one sentence; a median 2.5 s on a
slow 2-core machine)."""
GUESS_WEIGHT = 0.25
"""How much the guess counts when sentences are ranked after it was searched. The score
below which it is asked (`Settings.guess_below`, 0.4) and this weight were chosen on
pool questions (160 and their 160 rewordings): the five sentences the model reads held
the evidence for 6 more rewordings and no fewer questions; held out, for 5 more of the
104 rewordings of SQuAD-dev-13 (context recall 0.769 -> 0.817) and the same 260
originals."""


def _check_index_dir(path: Path) -> None:
    """A one-line error for an index folder that cannot be one (it, or a folder above
    it, is a file), before anything tries to create it."""
    for place in (path, *path.parents):
        if place.exists():
            if not place.is_dir():
                raise ConfigError(f"The index folder {path} cannot be used: {place} is a file. "
                                  "Point --index-dir (RAG_INDEX_DIR) at a folder.")
            return


class Assistant:
    """Question answering over one index of documents.

    Args:
        settings: defaults to `Settings()`, which reads `RAG_*` environment variables.
        chat_model: a LangChain chat model to use instead of the configured backend
            (for tests of the plumbing, or a model you build yourself).
    """

    def __init__(self, settings: Settings | None = None, *,
                 chat_model: BaseChatModel | None = None) -> None:
        self.settings = settings or Settings()
        _check_index_dir(self.settings.index_dir)
        self.index = Index(self.settings.index_dir, chunk_size=self.settings.chunk_size,
                           chunk_overlap=self.settings.chunk_overlap,
                           chroma_url=self.settings.chroma_url,
                           chroma_headers=self.settings.chroma_headers)
        self._keep_the_index_chunking()
        self.retriever = Retriever(self.index, k=self.settings.k)
        calibration = load_calibration(self.settings.calibration_path)
        self.checker = CitationChecker(calibration.support)
        self.ranker = SentenceRanker()
        self.decider = Decider(calibration.answer, self.settings.abstain_below)
        self.self_check = "p_yes" in calibration.answer.features
        """Ask the model whether the passages state its answer: only when the fitted
        answer model weighs that (`rag calibrate` keeps it only if it pays for its time)."""
        self.judge_always = False
        """Ask that check for every answer, even one a certain check declines (for
        `rag calibrate`, which re-decides stored answers under refitted models)."""
        self._chat_model = chat_model
        self._models: dict[str, BaseChatModel] = {}

    def _keep_the_index_chunking(self) -> None:
        """Unless chunk_size or chunk_overlap is set (flag, environment, code), documents
        are cut as the index's documents were: `rag ingest --chunk-size 800` once, then a
        plain `rag ingest` (or an upload in the UI) must not re-cut and re-embed them all."""
        if {"chunk_size", "chunk_overlap"} & self.settings.model_fields_set:
            return
        try:
            recorded = self.index.recorded_chunking()
        except StoreError:
            return  # (a server not reachable, a damaged catalog: said when it is used)
        if recorded and recorded != (self.index.chunk_size, self.index.chunk_overlap):
            self.index.chunk_size, self.index.chunk_overlap = recorded
            self.settings = self.settings.model_copy(
                update={"chunk_size": recorded[0], "chunk_overlap": recorded[1]})

    # Documents ---------------------------------------------------------------

    def ingest(self, paths: Iterable[str | Path],
               progress: Callable[[int, int], None] | None = None,
               progress_bar: bool | None = None) -> IngestReport:
        """Index files and folders; see `index.pipeline.Index.ingest` for the rules.

        Raises:
            PathNotFoundError: a path does not exist (the index is left as it was).
        """
        if isinstance(paths, (str, Path)):
            paths = [paths]  # one path, not a sequence of characters
        if paths is None:
            raise InputError("Give at least one file or folder to ingest.")
        paths = list(paths)
        if not paths:
            raise InputError("Give at least one file or folder to ingest.")
        for path in paths:
            if not isinstance(path, (str, Path)) or not str(path).strip():
                raise InputError(f"Each path to ingest must be a file or folder name, got "
                                 f"{path!r}.")
            if Path(path).expanduser().resolve() == Path("/"):
                raise InputError("Refusing to index the whole filesystem (/): give the folder "
                                 "that holds your documents.")
        try:
            return self.index.ingest(paths, progress=progress, progress_bar=progress_bar)
        except FileNotFoundError as exc:
            raise PathNotFoundError(f"No such file or folder: {exc.args[0]}") from None
        except StoreError as exc:
            raise IndexUnavailableError(str(exc)) from exc
        except ModelLoadError as exc:
            raise ModelUnavailableError(str(exc)) from exc

    def doctor(self, sweep: bool | None = None) -> Checkup:
        """Check the index and repair drift between the vector store and the catalog
        (what a killed ingest or a deleted file leaves); see `Index.doctor` (`sweep`: delete
        chunks no document owns even on a shared Chroma server)."""
        try:
            return self.index.doctor(sweep)
        except StoreError as exc:
            raise IndexUnavailableError(str(exc)) from exc

    def documents(self) -> list[DocumentInfo]:
        """The indexed documents, by source path."""
        try:
            return self.index.catalog.documents()
        except StoreError as exc:
            raise IndexUnavailableError(str(exc)) from exc

    def remove(self, source: str) -> int:
        """Remove one document (by its source path) and its chunks; returns the chunk count."""
        try:
            if self.index.catalog.info(source) is None:
                raise InputError(f"{source} is not in the index (`rag docs` lists the "
                                 "documents by the path to give).")
            return self.index.remove(source)
        except StoreError as exc:
            raise IndexUnavailableError(str(exc)) from exc

    @property
    def catalog(self) -> Catalog:
        return self.index.catalog

    # Questions ---------------------------------------------------------------

    def warm_up(self) -> None:
        """Load the embedding model and the chat model now rather than on the first
        question (the UI calls this at start). Failures surface on the first question."""
        try:
            self.index.embedder.embed_query("warm up")
            if self.settings.backend == "local" and self._chat_model is None:
                model = self._model("local")
                with llm.lock_for(model):
                    llm.prime(model, [SYSTEM, CONDENSE_SYSTEM, GUESS_SYSTEM],
                              keep_in=self.settings.model_cache_dir)
        except Exception:  # noqa: BLE001 - reported when a question needs the model
            return

    def ask(self, question: str, history: History | None = None, *,
            backend: str | None = None, passages: int | None = None,
            exclude: Sequence[Span] = ()) -> Answer:
        """Answer `question` from the indexed documents, with verified citations.

        Args:
            history: earlier turns, as (role, text) pairs or {"role", "content"} dicts;
                a follow-up question is rewritten to stand alone before searching.
            backend: override `settings.backend` for this question.
            passages: override `settings.context_sentences` for this question.
            exclude: see `stream`.
        """
        answer = None
        for item in self.stream(question, history, backend=backend, passages=passages,
                                exclude=exclude):
            if isinstance(item, Answer):
                answer = item
        assert answer is not None
        return answer

    def stream(self, question: str, history: History | None = None, *,
               backend: str | None = None, passages: int | None = None,
               exclude: Sequence[Span] = (),
               on_step: Callable[[str], None] | None = None) -> Iterator[str | Answer]:
        """Yield the answer's text as it is generated, then the final `Answer`.

        The streamed text is the model's draft; the final `Answer.text` is the checked
        version (markers repaired, or the abstention message).

        Args:
            exclude: (source, start, end) spans of documents to leave out of retrieval,
                as if they were not indexed (evals make unanswerable questions this way).
            on_step: called with each stage as it starts: "rewrite", "retrieve",
                "guess" (within retrieve, when the question matches poorly), "generate",
                "check" (the UI shows them).
        """
        backend = self._backend(backend)
        question = self._validate(question)
        counter = getattr(self.index.embedder, "word_pieces", None)
        if counter is not None and (pieces := counter(question)) > MAX_QUESTION_WORD_PIECES:
            raise InputError(f"The question is {pieces} word pieces long; the search reads at "
                             f"most {MAX_QUESTION_WORD_PIECES}: shorten it.")
        if passages is not None and (isinstance(passages, bool) or not isinstance(passages, int)
                                     or passages < 1):
            raise InputError(f"passages must be a whole number of at least 1, got {passages!r}.")
        turns = normalise_history(history)
        self._require_documents()
        started = time.perf_counter()
        timings: dict[str, float] = {}
        step = on_step or (lambda name: None)

        standalone = question
        if turns and needs_context(question):
            step("rewrite")
            tick = time.perf_counter()
            standalone = self._condense(question, turns, backend)
            timings["rewrite"] = time.perf_counter() - tick

        step("retrieve")
        tick = time.perf_counter()
        vectors = Vectors(self.index.embedder.embed_texts)
        guessed: list[str] = []

        def guess(question: str) -> str:
            step("guess")
            began = time.perf_counter()
            guessed.append(self._guess(question, backend))
            timings["guess"] = time.perf_counter() - began
            return guessed[-1]

        ranked, shown = self.read(standalone, vectors, exclude, passages,
                                  guess=None if backend == "extractive" else guess)
        timings["retrieve"] = time.perf_counter() - tick - timings.get("guess", 0.0)

        step("generate")
        tick = time.perf_counter()
        pieces: list[str] = []
        probe = llm.TokenProbe()
        if not shown:
            pieces.append(NO_ANSWER)
            yield NO_ANSWER
        elif backend == "extractive":
            draft = extractive_answer(ranked, shown, NO_ANSWER)
            pieces.append(draft)
            yield draft
        else:
            inputs = {"context": format_passages(shown), "question": standalone}
            model = self._model(backend)
            limit = {}
            if cross_script(standalone, [p.text for p in shown]):
                limit = llm.max_tokens(model, min(CROSS_SCRIPT_TOKENS, self.settings.max_tokens))
            chain = ANSWER_PROMPT | llm.probed(model, probe, **limit) | StrOutputParser()
            try:
                for piece in llm.stream_detached(lambda: chain.stream(inputs),
                                                 llm.lock_for(model)):
                    pieces.append(piece)
                    yield piece
            except Exception as exc:
                raise self._translate(exc, backend) from exc
        draft = "".join(pieces).strip()
        timings["generate"] = time.perf_counter() - tick

        step("check")
        tick = time.perf_counter()
        checked = self.checker.check(standalone, draft, shown, vectors)

        def measured(p_yes: float | None = None) -> Signals:
            tokens = llm.token_texts(self._model(backend), probe.tokens) if probe.tokens else []
            return Signals.of(standalone, tokens, probe.logprobs, p_yes)

        def signals() -> Signals:
            p_yes = None
            if (self.self_check or self.judge_always) and draft and backend != "extractive":
                judged = time.perf_counter()
                p_yes = self._judge(backend, shown, standalone, draft)
                timings["judge"] = time.perf_counter() - judged
            return measured(p_yes)

        if self.judge_always:
            known = signals()

            def signals() -> Signals:
                return known

        answer = self.conclude(question, standalone, draft, shown, ranked, checked, vectors,
                               signals)
        if self.judge_always:
            answer = replace(answer, signals=asdict(known))
        elif not answer.signals and probe.logprobs:
            # Kept even where the decision did not weigh them, so that a stored answer can
            # be decided again under a refitted model (`eval.replay`). They cost no call.
            answer = replace(answer, signals=asdict(measured()))
        timings["check"] = time.perf_counter() - tick - timings.get("judge", 0.0)
        timings["total"] = time.perf_counter() - started
        yield replace(answer, timings=timings, guess=guessed[-1] if guessed else "")

    def read(self, question: str, vectors: Vectors, exclude: Sequence[Span] = (),
             sentences: int | None = None, guess: Callable[[str], str] | None = None,
             ) -> tuple[list[ScoredSentence], list[Passage]]:
        """Retrieve passages for `question`, rank their sentences, and pick what the model
        reads: the best sentences and their neighbours (`context_sentences`,
        `context_neighbours`), or whole passages. Returns (ranked sentences, passages).

        `guess(question)`: the sentence a model expects the answer in. When no sentence
        matches the question as well as `guess_below`, that guess is searched too and
        ranks the sentences with the question (`GUESS_WEIGHT`).
        """
        retrieved = self.retriever.retrieve(question, exclude=exclude,
                                            vector=vectors.of([question])[0].tolist())
        ranked = self.ranker.rank(question, retrieved, vectors)
        if guess is not None and (not ranked or ranked[0].score < self.settings.guess_below):
            if written := guess(question):
                wider = f"{question} {written}"
                found = merge(retrieved, self.retriever.retrieve(
                    wider, exclude=exclude, vector=vectors.of([wider])[0].tolist()))
                # a passage the guess found keeps its similarity to the question, not to
                # the question with the guess (the decision weighs it)
                added = found[len(retrieved):]
                close = vectors.similarity(question, [p.text for p in added])
                retrieved = found[:len(retrieved)] + [
                    replace(p, similarity=float(c)) for p, c in zip(added, close)]
                ranked = blend(self.ranker.rank(question, retrieved, vectors),
                               self.ranker.rank(wider, retrieved, vectors), GUESS_WEIGHT)
        sentences = self.settings.context_sentences if sentences is None else sentences
        if not sentences:
            return ranked, retrieved
        return ranked, focus(ranked, sentences, self.settings.context_neighbours)

    def conclude(self, question: str, standalone: str, draft: str, shown: list[Passage],
                 ranked: list[ScoredSentence], checked: CheckedAnswer, vectors: Vectors,
                 signals: Callable[[], Signals]) -> Answer:
        """The final `Answer` from a checked draft (`rag.decide` decides). Separate from
        `stream` so that `rag calibrate` can re-decide stored drafts without the chat
        model."""
        asked: list[Signals] = []

        def remembered() -> Signals:
            asked.append(signals())
            return asked[-1]

        decision = self.decider.decide(standalone, checked, shown, ranked,
                                       self._context_reader(), vectors, remembered)
        abstained = decision.abstain
        if not abstained:
            checked = self.checker.cite_best(checked)
        return Answer(
            question=question,
            text=NO_ANSWER if abstained else checked.text,
            citations=[] if abstained else checked.citations,
            abstained=abstained,
            passages=shown,
            timings={},
            standalone_question=standalone,
            unsupported=[] if abstained else checked.unsupported,
            draft=draft,
            checked=checked.text,
            confidence=decision.probability,
            abstain_reason=decision.reason,
            features=decision.features.as_dict() if decision.features else {},
            signals=asdict(asked[0]) if asked else {},
        )

    def _guess(self, question: str, backend: str) -> str:
        """The first line of the sentence the model expects the answer in ("" if none)."""
        model = self._model(backend)
        chain = (GUESS_PROMPT | model.bind(**llm.max_tokens(model, GUESS_TOKENS))
                 | StrOutputParser())
        with llm.lock_for(model):
            try:
                written = chain.invoke({"question": question})
            except Exception as exc:
                raise self._translate(exc, backend) from exc
        return next((line.strip() for line in written.splitlines() if line.strip()), "")

    def _judge(self, backend: str, shown: list[Passage], question: str,
               draft: str) -> float | None:
        """The model's P(yes) that the passages state its answer (one token, reusing the
        evaluated prompt on the local model); None where the backend cannot say."""
        prompt = JUDGE_PROMPT.invoke({"context": format_passages(shown), "question": question,
                                      "draft": draft})
        model = self._model(backend)
        with llm.lock_for(model):
            try:
                return llm.yes_probability(model, prompt)
            except Exception as exc:
                raise self._translate(exc, backend) from exc

    # Internals ---------------------------------------------------------------

    def _context_reader(self):
        """`context(support)`: the paragraph around a supporting span, with its
        document's title. Only the text within `CONTEXT_WINDOW` characters of the span
        is read, so a 50 MB document costs what a short one does."""

        def context(support: Support) -> str:
            title = support.passage.title
            window = self.index.catalog.text_window(support.passage.source,
                                                    support.start - CONTEXT_WINDOW,
                                                    support.end + CONTEXT_WINDOW)
            if window is not None:
                text, offset, _ = window
                for start, end in paragraph_spans(text):
                    if start <= support.start - offset < end:
                        return f"{title}\n{text[start:max(end, support.end - offset)]}"
            return f"{title}\n{support.passage.text}"

        return context

    def _backend(self, backend: str | None) -> str:
        backend = backend or self.settings.backend
        if backend not in BACKENDS:
            raise ConfigError(f"Unknown backend {backend!r}; choose one of: {', '.join(BACKENDS)}")
        return backend

    @staticmethod
    def _validate(question: str) -> str:
        if not isinstance(question, str):
            raise InputError(f"The question must be text (a str), not {type(question).__name__}.")
        if not question.strip():
            raise InputError("The question is empty: type a question about your documents.")
        try:
            question.encode("utf-8")
        except UnicodeEncodeError:
            raise InputError("The question is not valid UTF-8 text; retype it, or set your "
                             "terminal to UTF-8.") from None
        question = " ".join(question.split())
        if len(question) > MAX_QUESTION_CHARS:
            raise InputError(f"The question is {len(question)} characters long; keep it under "
                             f"{MAX_QUESTION_CHARS}.")
        return question

    def _require_documents(self) -> None:
        where = self.settings.chroma_url or self.settings.index_dir
        empty = (f"No documents are indexed in {where} yet. Run `rag ingest <folder>` first "
                 "(or upload files in the UI), or point RAG_INDEX_DIR / --index-dir at the "
                 "index you built.")
        if not self.index.exists:  # do not create an index just to look
            raise EmptyIndexError(empty)
        try:
            if not self.index.catalog.has_documents():
                raise EmptyIndexError(empty)
            if self.index.store.is_empty():
                raise IndexUnavailableError(
                    "The index lists documents but its vector store holds no chunks (it was "
                    "deleted or damaged). Run `rag ingest` on the same folders to rebuild it.")
        except StoreError as exc:
            raise IndexUnavailableError(str(exc)) from exc

    def _model(self, backend: str) -> BaseChatModel:
        if self._chat_model is not None:
            return self._chat_model
        if backend not in self._models:
            self._models[backend] = llm.chat_model(self.settings.model_copy(update={"backend": backend}))
        return self._models[backend]

    def _translate(self, exc: Exception, backend: str) -> Exception:
        return llm.translate_error(exc, self.settings.model_copy(update={"backend": backend}))

    def _condense(self, question: str, turns: Sequence[tuple[str, str]], backend: str) -> str:
        """Rewrite a follow-up into a question that stands alone."""
        if backend == "extractive" and self._chat_model is None:
            last_user = next((text for role, text in reversed(turns) if role == "user"), "")
            return f"{question} ({last_user})" if last_user else question
        model = self._model(backend)
        chain = condense_prompt(turns) | model | StrOutputParser()
        with llm.lock_for(model):
            try:
                rewritten = chain.invoke({"question": question})
            except Exception as exc:
                raise self._translate(exc, backend) from exc
        rewritten = rewritten.strip().strip('"').splitlines()[0].strip() if rewritten.strip() else ""
        return rewritten or question
