"""Speed and memory benchmarks: `make bench` or `python -m bench.run [--quick]`.

Measures, in one process and one run (quote medians and ratios, not single numbers:
these machines are shared and noisy):
- cold start: loading the embedding model and the local chat model in this process,
  and a one-shot `rag ask` in a fresh process (extractive and local backends, median of
  3), from process start to the answer printed, with the part spent generating;
- ingest: the bundled corpus into a fresh index, and (unless --quick) the 13
  SQuAD-dev-13 articles, in chunks per second, next to the raw embedder on the same
  chunk texts;
- retrieval: median and p95 over the seed questions;
- answering: median seconds per answer of the local and extractive backends on 10
  seed questions about the bundled article (the model's yes/no check of its own
  answer included, and shown on its own), with the prompt size, and the median time
  from the question to the first streamed piece of text;
- peak resident memory.
Writes bench/out/bench.json and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEED_QUESTIONS = [
    "What are the exercises called?",
    "How many warships did Russia send to the Black Sea?",
    "How many Russian troops does the US estimate will surge into Belarus?",
    "Who is the NATO Secretary General?",
    "Which French official condemned the drills?",
    "When does Moscow say its troops will return home?",
    "Who is Russia's Chief of the General Staff?",
    "Why did the Pentagon hold talks with Belarus?",
    "How long is the Belarusian border with Ukraine?",
    "What did NATO call the drills?",
]


def _percentile(values: list[float], q: float) -> float:
    data = sorted(values)
    position = (len(data) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(data) - 1)
    return data[low] + (data[high] - data[low]) * (position - low)


def _timed(fn):
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def _cold_start(index_dir: Path, backend: str, runs: int = 3) -> tuple[float, float]:
    """Median seconds of a fresh `rag ask` process, whole and generating only."""
    walls, generating = [], []
    env = {**os.environ, "RAG_INDEX_DIR": str(index_dir), "RAG_BACKEND": backend}
    for question in SEED_QUESTIONS[1:1 + runs]:
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "rag.cli", "ask", "--json", question],
                              env=env, capture_output=True, text=True, check=True, cwd=ROOT)
        walls.append(time.perf_counter() - start)
        generating.append(json.loads(done.stdout)["timings"]["generate"])
    return statistics.median(walls), statistics.median(generating)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the SQuAD ingest")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    args = parser.parse_args()

    from rag import Assistant, Settings
    from rag import llm
    from rag.prompt import ANSWER_PROMPT, format_passages

    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as scratch:
        settings = Settings(index_dir=Path(scratch) / "index")
        assistant = Assistant(settings)
        results["embedder_load_s"], _ = _timed(lambda: assistant.index.embedder.embed_query("x"))
        results["chat_model_load_s"], model = _timed(lambda: llm.chat_model(settings))

        seconds, report = _timed(lambda: assistant.ingest([ROOT / "corpus"], progress_bar=False))
        results["ingest_corpus_s"] = seconds
        results["ingest_corpus_chunks"] = report.chunks_written
        seconds, _ = _timed(lambda: assistant.ingest([ROOT / "corpus"], progress_bar=False))
        results["reingest_unchanged_s"] = seconds
        for backend in ("extractive", "local"):
            wall, generating = _cold_start(settings.index_dir, backend)
            results[f"cold_start_rag_ask_{backend}_s"] = wall
            if backend == "local":
                results["cold_start_rag_ask_local_generating_s"] = generating

        squad = ROOT.parent / "shared" / "squad-dev-13" / "corpus"
        if not args.quick and squad.is_dir():
            other = Assistant(Settings(index_dir=Path(scratch) / "squad"))
            seconds, report = _timed(lambda: other.ingest([squad], progress_bar=False))
            results["ingest_squad_s"] = seconds
            results["ingest_squad_chunks"] = report.chunks_written
            results["ingest_squad_chunks_per_s"] = report.chunks_written / seconds
            # The raw embedder on the same texts: what ingest adds on top of embedding
            # (loading, splitting, Chroma and keyword writes) is the gap.
            texts = [c.text for page in other.index.store.pages() for c in page]
            seconds, _ = _timed(lambda: other.index.embedder.embed_documents(texts))
            results["embed_squad_chunks_per_s"] = len(texts) / seconds
            results["ingest_vs_raw_embedder"] = (results["ingest_squad_chunks_per_s"]
                                                 / results["embed_squad_chunks_per_s"])

        retrieve = [_timed(lambda q=q: assistant.retriever.retrieve(q))[0] for q in SEED_QUESTIONS]
        results["retrieve_median_s"] = statistics.median(retrieve)
        results["retrieve_p95_s"] = _percentile(retrieve, 95)

        tokenize = getattr(getattr(model, "client", None), "tokenize", None)
        for backend in ("extractive", "local"):
            totals, generate, judge, abstained, prompt_tokens = [], [], [], 0, []
            first_piece = []
            for question in SEED_QUESTIONS:
                start, first, answer = time.perf_counter(), None, None
                for item in assistant.stream(question, backend=backend):
                    if first is None:  # the first text shown (or the answer, if no text)
                        first = time.perf_counter() - start
                    answer = item
                first_piece.append(first)
                totals.append(answer.timings["total"])
                generate.append(answer.timings["generate"])
                if "judge" in answer.timings:
                    judge.append(answer.timings["judge"])
                abstained += answer.abstained
                if backend == "local" and tokenize:
                    messages = ANSWER_PROMPT.format_messages(
                        context=format_passages(answer.passages), question=question)
                    text = "".join(str(m.content) for m in messages)
                    prompt_tokens.append(len(tokenize(text.encode(), add_bos=False)))
            results[f"{backend}_answer_median_s"] = statistics.median(totals)
            results[f"{backend}_answer_p95_s"] = _percentile(totals, 95)
            results[f"{backend}_generate_median_s"] = statistics.median(generate)
            results[f"{backend}_first_text_median_s"] = statistics.median(first_piece)
            if judge:
                results[f"{backend}_judge_median_s"] = statistics.median(judge)
            results[f"{backend}_abstained"] = abstained
            if prompt_tokens:
                results["local_prompt_tokens_median"] = statistics.median(prompt_tokens)
        results["local_vs_extractive_ratio"] = (results["local_answer_median_s"]
                                                / results["extractive_answer_median_s"])
    results["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    results["date"] = time.strftime("%Y-%m-%d %H:%M")

    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench.json").write_text(json.dumps(results, indent=2))
    width = max(len(k) for k in results)
    for key, value in results.items():
        shown = f"{value:.3f}" if isinstance(value, float) else str(value)
        print(f"{key:<{width}}  {shown}")


if __name__ == "__main__":
    main()
