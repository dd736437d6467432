"""Retrieval at scale: `python -m bench.scale [--sizes 1000 10000 100000]`.

Grows an index to each size from real text and measures the project's own
`Retriever` on it: first-question time, then p50/p95 over pool questions, with the
keyword search and the Chroma query shown on their own, and the process's peak RSS.

How the index is grown (embedding a million chunks would take hours on a laptop):
every sentence of the 13 SQuAD-dev-13 articles and the bundled article is embedded
once with the real model; each synthetic chunk is 3 to 6 real sentences drawn at
random, its vector the normalised mean of theirs plus a little noise. Chunks are
grouped 200 to a document and written through `ChunkStore` and `Catalog` exactly as
ingest writes them (keyword rows included). Texts and vectors are therefore real
language and of realistic spread, but the collection repeats its sentences.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
CHUNKS_PER_DOC = 200
BATCH = 2000


def _sentences() -> list[str]:
    from index import splitter
    from index.loaders import load

    files = sorted((SHARED / "squad-dev-13" / "corpus").glob("*.txt"))
    files += sorted((ROOT / "corpus").glob("*.txt"))
    found = []
    for path in files:
        doc = load(path)
        for p_start, p_end in splitter.paragraph_spans(doc.text, doc.body_start):
            for start, end in splitter.sentence_spans(doc.text, p_start, p_end):
                if 30 <= end - start <= 400:
                    found.append(doc.text[start:end])
    return found


def _questions(n: int) -> list[str]:
    lines = (SHARED / "squad-dev-13" / "pool.jsonl").read_text().splitlines()
    picked = random.Random(7).sample(lines, n)
    return [json.loads(line)["question"] for line in picked]


def grow(index, target: int, sentences: list[str], vectors: np.ndarray, seed: int) -> None:
    """Add synthetic documents to `index` until it holds `target` chunks."""
    from index.types import Chunk, SourceDocument, chunk_id

    rng = np.random.default_rng(seed)
    have = index.store.count()
    doc_number = have // CHUNKS_PER_DOC
    while have < target:
        n = min(CHUNKS_PER_DOC, target - have)
        source = f"/bench/grown/doc-{doc_number:07d}.txt"
        texts, offsets, chunk_vectors, cursor = [], [], [], 0
        for _ in range(n):
            picks = rng.integers(0, len(sentences), rng.integers(3, 7))
            text = " ".join(sentences[i] for i in picks)
            vector = vectors[picks].mean(axis=0) + rng.normal(0, 0.02, vectors.shape[1])
            chunk_vectors.append(vector / np.linalg.norm(vector))
            texts.append(text)
            offsets.append(cursor)
            cursor += len(text) + 2
        body = "\n\n".join(texts)
        doc = SourceDocument(source=source, text=body, title=f"Grown {doc_number}",
                             sha256=f"{doc_number:064d}", kind="txt")
        chunks = [Chunk(id=chunk_id(source, start, text), source=source, text=text,
                        start=start, end=start + len(text), title=doc.title, index=i)
                  for i, (text, start) in enumerate(zip(texts, offsets))]
        index.store.upsert(chunks, [v.tolist() for v in chunk_vectors])
        index.catalog.add_chunks(chunks)
        index.catalog.put(doc, index.chunking, {c.id for c in chunks})
        have += n
        doc_number += 1


def _table(rows: list[dict]) -> None:
    print("| chunks | retrieval p50 | p95 | with the query embedding p50 | keyword p50 "
          "| vector p50 | first question |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['chunks']:,} | {row['retrieve_p50_ms']} ms | {row['retrieve_p95_ms']} ms"
              f" | {row['retrieve_with_embedding_p50_ms']} ms"
              f" | {row['keyword_p50_ms']} ms | {row['dense_p50_ms']} ms"
              f" | {row['first_question_ms']} ms |")


def _chart(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = [row["chunks"] for row in rows]
    figure, axis = plt.subplots(figsize=(6, 4))
    for key, label in (("retrieve_p50_ms", "retrieval p50"), ("retrieve_p95_ms", "retrieval p95"),
                       ("keyword_p50_ms", "keyword search p50"),
                       ("dense_p50_ms", "vector search p50")):
        axis.plot(sizes, [row[key] for row in rows], marker="o", label=label)
    axis.set_xscale("log")
    axis.set_yscale("log")
    axis.set_xlabel("chunks in the index")
    axis.set_ylabel("ms per question (query embedding excluded)")
    axis.legend()
    axis.grid(True, which="both", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    print(f"wrote {path}")


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000])
    parser.add_argument("--questions", type=int, default=50)
    parser.add_argument("--dir", type=Path, help="keep the grown index here (default: a temp dir)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "scale.json")
    args = parser.parse_args()

    from index import Index
    from index.embedder import MiniLMEmbedder
    from rag.retrieve import Retriever

    embedder = MiniLMEmbedder()
    sentences = _sentences()
    started = time.perf_counter()
    vectors = np.array(embedder.embed_documents(sentences), dtype=np.float32)
    print(f"embedded {len(sentences):,} real sentences in {time.perf_counter() - started:.0f} s")
    questions = _questions(args.questions)
    embed_s = []
    query_vectors = []
    for question in questions:
        tick = time.perf_counter()
        query_vectors.append(embedder.embed_query(question))
        embed_s.append(time.perf_counter() - tick)
    embed_ms = statistics.median(embed_s) * 1000
    print(f"query embedding p50 {embed_ms:.1f} ms (the same at every size)")

    results = []
    with tempfile.TemporaryDirectory() as scratch:
        directory = args.dir or Path(scratch) / "index"
        for size in sorted(args.sizes):
            started = time.perf_counter()
            grow(Index(directory, embedder=embedder), size, sentences, vectors, seed=size)
            grow_s = time.perf_counter() - started
            # A fresh Index, as in a new process: the first question pays any warm-up.
            index = Index(directory, embedder=embedder)
            retriever = Retriever(index, k=4)
            rss_before = _rss_mb()
            first = time.perf_counter()
            retriever.retrieve(questions[0], vector=query_vectors[0])
            first_s = time.perf_counter() - first
            total, keyword, dense, whole = [], [], [], []
            for question, vector in zip(questions, query_vectors):
                tick = time.perf_counter()
                index.keyword_search(question, 20)
                keyword.append(time.perf_counter() - tick)
                tick = time.perf_counter()
                index.store.query(vector, 20)
                dense.append(time.perf_counter() - tick)
                tick = time.perf_counter()
                retriever.retrieve(question, vector=vector)
                total.append(time.perf_counter() - tick)
                tick = time.perf_counter()
                retriever.retrieve(question)  # the question embedded too
                whole.append(time.perf_counter() - tick)
            row = {
                "chunks": index.store.count(),
                "grow_s": round(grow_s, 1),
                "first_question_ms": round(first_s * 1000, 1),
                "retrieve_p50_ms": round(statistics.median(total) * 1000, 1),
                "retrieve_p95_ms": round(float(np.percentile(total, 95)) * 1000, 1),
                "retrieve_with_embedding_p50_ms": round(statistics.median(whole) * 1000, 1),
                "keyword_p50_ms": round(statistics.median(keyword) * 1000, 1),
                "dense_p50_ms": round(statistics.median(dense) * 1000, 1),
                "peak_rss_mb": round(_rss_mb(), 0),
                "rss_growth_mb_at_first_question": round(_rss_mb() - rss_before, 0),
            }
            results.append(row)
            print(json.dumps(row), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    _table(results)
    _chart(results, args.out.with_suffix(".png"))
    args.out.write_text(json.dumps({"date": time.strftime("%Y-%m-%d %H:%M"),
                                    "query_embedding_p50_ms": round(embed_ms, 1),
                                    "note": "retrieve_* exclude the query embedding; "
                                            "retrieve_with_embedding embeds the question "
                                            "too, measured whole",
                                    "rows": results}, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
