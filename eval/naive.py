"""The baseline users would otherwise build: LangChain's RAG tutorial recipe, with our
embedding model and chat model so that only the method differs.

1000/200-character recursive splitter, Chroma, top-4 similarity search, the
tutorial's prompt (hub "rlm/rag-prompt"), no citation handling. Its abstention is read
from its own words ("I don't know"), which the tutorial prompt asks for.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from langchain_core.documents import Document
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_text_splitters import RecursiveCharacterTextSplitter

from eval.systems import Prediction
from index import loaders
from index.embedder import MiniLMEmbedder
from rag.draft import is_abstention
from rag.retrieve import Span

TUTORIAL_PROMPT = ChatPromptTemplate.from_messages([("human", """You are an assistant for \
question-answering tasks. Use the following pieces of retrieved context to answer the \
question. If you don't know the answer, just say that you don't know. Use three sentences \
maximum and keep the answer concise.
Question: {question} 
Context: {context} 
Answer:""")])


EXCLUDE_MARGIN = 8
"""Extra depth when spans are hidden: a paragraph overlaps a few 1000-character chunks."""


def _hidden(doc: Document, spans: Sequence[Span]) -> bool:
    start = doc.metadata.get("start_index", -1)
    end = start + len(doc.page_content)
    return any(doc.metadata["source"] == source and start < e and s < end
               for source, s, e in spans)


class NaiveSystem:
    """Tutorial RAG over the same corpus, in its own Chroma collection."""

    name = "naive"

    def __init__(self, corpus: Path, workdir: Path, chat_model: BaseChatModel,
                 embedder: MiniLMEmbedder) -> None:
        from chromadb.config import Settings as ChromaSettings
        from langchain_chroma import Chroma

        documents = []
        for path in loaders.collect([Path(corpus)]):
            try:
                doc = loaders.load(path)
            except loaders.LoadError:
                continue
            documents.append(Document(page_content=doc.text, metadata={"source": doc.source}))
        splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200,
                                                  add_start_index=True)
        splits = splitter.split_documents(documents)
        self.texts = {d.metadata["source"]: d.page_content for d in documents}
        self.store = Chroma(collection_name="naive", embedding_function=embedder,
                            persist_directory=str(workdir),
                            client_settings=ChromaSettings(anonymized_telemetry=False))
        self.store.add_documents(splits)
        self.retriever = self.store.as_retriever(search_type="similarity", search_kwargs={"k": 4})
        self.chain = TUTORIAL_PROMPT | chat_model | StrOutputParser()

    def ask(self, qid: str, question: str, exclude: Sequence[Span] = (),
            history: Sequence[tuple[str, str]] = ()) -> Prediction:
        # The tutorial recipe keeps no conversation: a follow-up is asked as it stands.
        started = time.perf_counter()
        if exclude:
            docs = [d for d in self.store.similarity_search(question, k=4 + EXCLUDE_MARGIN)
                    if not _hidden(d, exclude)][:4]
        else:
            docs = self.retriever.invoke(question)
        retrieved = time.perf_counter()
        context = "\n\n".join(d.page_content for d in docs)
        answer = self.chain.invoke({"question": question, "context": context}).strip()
        finished = time.perf_counter()
        passages = []
        for d in docs:
            start = d.metadata.get("start_index", -1)
            passages.append({"source": d.metadata["source"], "start": start,
                             "end": start + len(d.page_content), "text": d.page_content})
        return Prediction(
            id=qid, question=question, answer=answer, abstained=is_abstention(answer),
            passages=passages,
            timings={"retrieve": retrieved - started, "generate": finished - retrieved,
                     "total": finished - started},
        )
