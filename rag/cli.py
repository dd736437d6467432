"""The `rag` command: thin wrappers that parse arguments, call `Assistant`, print.

Errors print one line (`error: ...`) and exit with status 1; `--debug` shows the
traceback instead.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path

from rag.config import BACKENDS, Settings, unknown_environment
from rag.errors import RagError


def int_in(low: int, high: int | None = None):
    """An argparse type: a whole number from `low` to `high`, or a one-line usage error
    that names the flag and the range."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < low or (high is not None and value > high):
            allowed = f"from {low} to {high}" if high is not None else f"at least {low}"
            raise argparse.ArgumentTypeError(f"{value} is out of range ({allowed})")
        return value
    return parse


def _settings(args: argparse.Namespace, **extra) -> Settings:
    values = {key: value for key, value in {
        "index_dir": getattr(args, "index_dir", None),
        "backend": getattr(args, "backend", None),
        "k": getattr(args, "k", None),
        "chunk_size": getattr(args, "chunk_size", None),
        "chunk_overlap": getattr(args, "chunk_overlap", None),
        **extra,
    }.items() if value is not None}
    settings = Settings(**values)
    for line in unknown_environment():
        print(f"warning: {line}", file=sys.stderr)
    return settings


def _assistant(args: argparse.Namespace):
    from rag.assistant import Assistant

    return Assistant(_settings(args))


def cmd_ingest(args: argparse.Namespace) -> int:
    assistant = _assistant(args)
    report = assistant.ingest(args.paths, progress_bar=None if not args.quiet else False)
    print(report.summary())
    for source in report.removed:
        print(f"  removed {source}: no longer in its folder")
    for skipped in report.skipped:
        print(f"  skipped {skipped.path}: {skipped.reason}")
    return 0


def _load_chat_model_meanwhile(settings: Settings):
    """Start loading the local chat model (about 1.3 s) while the index opens and the
    question is embedded; `ask` then finds it loaded. Returns the thread, or None."""
    if settings.backend != "local" or not settings.index_dir.exists():
        return None
    import threading

    def load() -> None:
        from rag import llm

        try:
            model = llm.chat_model(settings)
            from rag.prompt import SYSTEM

            with llm.lock_for(model):
                llm.prime(model, [SYSTEM], keep_in=settings.model_cache_dir)
        except Exception:  # noqa: BLE001 - `ask` loads it again and reports the error
            pass

    thread = threading.Thread(target=load, name="load-chat-model", daemon=True)
    thread.start()
    return thread


def _where(item) -> str:
    """Where a citation or passage is: file, character offsets, page."""
    page = f", page {item.page}" if item.page else ""
    return f"{item.name}, chars {item.start}-{item.end}{page}"


def cmd_ask(args: argparse.Namespace) -> int:
    settings = _settings(args)
    loading = _load_chat_model_meanwhile(settings)
    try:
        from rag.assistant import Assistant

        answer = Assistant(settings).ask(args.question)
    finally:
        if loading is not None:
            loading.join()  # never leave the interpreter while llama.cpp is loading
    if args.json:
        print(json.dumps(answer.summary(), ensure_ascii=False, indent=2))
        return 0
    print(answer.text)
    if answer.citations:
        print("\nSources:")
        for c in answer.citations:
            print(f"  [{c.marker}] {c.title} ({_where(c)})")
            print(textwrap.fill(f"“{c.quote}”", width=88, initial_indent="      ",
                                subsequent_indent="      "))
    if answer.unsupported:
        print("\nNot clearly stated in the documents: " + " ".join(answer.unsupported))
    if not answer.abstained:
        print(f"\nChance this answer is right: {round(100 * answer.confidence)}%")
    else:
        if answer.abstain_reason:
            print(f"(why: {answer.abstain_reason})")
        if closest := answer.closest(2):
            print("\nThe closest passages found (they do not clearly answer the question):")
        for p in closest:
            print(f"  {p.title} ({_where(p)})")
            print(textwrap.fill(f"“{textwrap.shorten(p.text, 300, placeholder=' …')}”",
                                width=88, initial_indent="      ", subsequent_indent="      "))
    timing = " · ".join(f"{k} {v:.2f} s" for k, v in answer.timings.items())
    print(f"\n({timing})", file=sys.stderr)
    return 0


def cmd_docs(args: argparse.Namespace) -> int:
    assistant = _assistant(args)
    documents = assistant.documents() if assistant.index.exists else []
    if not documents:
        print(f"No documents are indexed in {assistant.settings.index_dir} yet. Run "
              "`rag ingest <folder>` (or pass the --index-dir you ingested into).")
        return 0
    for doc in documents:
        date = f" {doc.date}" if doc.date else ""
        print(f"{doc.chunk_count:5d} chunks  {doc.source}  ({doc.title}{date})")
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    assistant = _assistant(args)
    source = str(Path(args.source).expanduser().resolve())  # as `ingest` records it
    count = assistant.remove(source)
    print(f"Removed {source} ({count} chunks).")
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    assistant = _assistant(args)
    if not assistant.index.exists:
        print(f"No index in {assistant.settings.index_dir} yet. Run `rag ingest <folder>` "
              "(or pass the --index-dir you ingested into).")
        return 0
    for line in assistant.doctor(sweep=True if args.sweep else None).lines():
        print(line)
    return 0


def cmd_ui(args: argparse.Namespace) -> int:
    from ui.app import launch

    launch(_settings(args), host=args.host, port=args.port,
           insecure_no_auth=args.insecure_no_auth)
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from eval.runner import main as eval_main

    return eval_main(args)


def cmd_calibrate(args: argparse.Namespace) -> int:
    from eval.calibrate import main as calibrate_main

    return calibrate_main(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rag",
        description="Ask questions about your documents and get answers with citations.",
        epilog="Settings can also come from RAG_* environment variables "
               "(e.g. RAG_INDEX_DIR, RAG_BACKEND). See README.md.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def common(sub: argparse.ArgumentParser,
               index_help: str = "index directory (default: $RAG_INDEX_DIR or .rag)") -> None:
        sub.add_argument("--index-dir", metavar="DIR", help=index_help)
        sub.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                         help=argparse.SUPPRESS)  # (not to undo `rag --debug CMD`)

    ingest = commands.add_parser("ingest", help="index files and folders (.txt .md .html .pdf)",
                                 description="Index files and folders, recursively. Unchanged "
                                 "files are skipped; changed ones are re-indexed; files "
                                 "deleted from an ingested folder are removed from the index.")
    ingest.add_argument("paths", nargs="+", metavar="PATH", help="a file or folder")
    ingest.add_argument("--chunk-size", type=int_in(50), metavar="CHARS",
                        help="largest chunk in characters (default: what the index was cut "
                             "with, else 400; a new value re-cuts every document)")
    ingest.add_argument("--chunk-overlap", type=int_in(0), metavar="CHARS",
                        help="characters of sentences shared by neighbouring chunks "
                             "(default: what the index was cut with, else 120)")
    ingest.add_argument("--quiet", action="store_true", help="no progress bar")
    common(ingest)
    ingest.set_defaults(func=cmd_ingest)

    ask = commands.add_parser("ask", help="answer a question from the indexed documents",
                              description="Answer a question with citations to the documents.")
    ask.add_argument("question", help="the question, in quotes")
    ask.add_argument("--json", action="store_true", help="print the answer as JSON")
    ask.add_argument("--backend", choices=BACKENDS, metavar="NAME",
                     help=f"who writes the answer: {', '.join(BACKENDS)} "
                          "(default: $RAG_BACKEND or local)")
    ask.add_argument("-k", type=int_in(1, 50), metavar="N",
                     help="chunks to retrieve, 1 to 50 (default: $RAG_K or 6)")
    common(ask)
    ask.set_defaults(func=cmd_ask)

    docs = commands.add_parser("docs", help="list the indexed documents")
    common(docs)
    docs.set_defaults(func=cmd_docs)

    remove = commands.add_parser("remove", help="remove one document from the index")
    remove.add_argument("source", help="path of the document, as listed by `rag docs`")
    common(remove)
    remove.set_defaults(func=cmd_remove)

    doctor = commands.add_parser(
        "doctor", help="check the index and repair what a killed ingest or a damaged file "
                       "left", description="Roll back interrupted writes, delete chunks no "
        "indexed document owns, mark documents whose chunks are missing so the next ingest "
        "writes them again, and set a damaged catalog or vector store aside. Safe to run at "
        "any time; it waits for no one and fails if another process is writing. On a Chroma "
        "server, chunks no document owns are only counted (another machine may be writing "
        "them) unless --sweep is given.")
    common(doctor)
    doctor.add_argument("--sweep", action="store_true",
                        help="on a Chroma server, delete chunks no document owns too (only "
                             "when no other machine is ingesting)")
    doctor.set_defaults(func=cmd_doctor)

    ui = commands.add_parser("ui", help="start the chat UI in the browser")
    ui.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    ui.add_argument("--port", type=int_in(1, 65535), default=7860, help="port (default 7860)")
    ui.add_argument("--insecure-no-auth", action="store_true",
                    help="allow a --host other than loopback without RAG_UI_AUTH (anyone who "
                         "can reach the machine can then use and change the index)")
    ui.add_argument("--backend", choices=BACKENDS, metavar="NAME",
                    help=f"default backend for the chat: {', '.join(BACKENDS)} "
                         "(default: $RAG_BACKEND or local)")
    common(ui)
    ui.set_defaults(func=cmd_ui)

    evaluate = commands.add_parser(
        "eval", help="measure answer accuracy, abstention and citations on a question set",
        description="Ask every question of a dataset through the public API, score the "
                    "answers, and write report.md, report.json, predictions.jsonl and a chart.")
    from eval.arguments import calibrate_arguments, eval_arguments

    eval_arguments(evaluate)
    common(evaluate, "where to index the eval corpus, kept for the next run (default: a "
                     "temporary folder; $RAG_INDEX_DIR is not used, since the corpus is "
                     "ingested into it)")
    evaluate.set_defaults(func=cmd_eval)

    calibrate = commands.add_parser(
        "calibrate", help="refit the answer-or-decline models on the calibration pool",
        description="Ask a sample of the calibration pool (and evidence-removal negatives "
                    "made from it), fit the citation-support and answer models by "
                    "article-grouped cross-validation, and write them as JSON. Resumes "
                    "from the answers stored in --work.")
    calibrate_arguments(calibrate)
    calibrate.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                           help=argparse.SUPPRESS)
    calibrate.set_defaults(func=cmd_calibrate)

    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        status = args.func(args)
        sys.stdout.flush()  # (a closed pipe is met here, not at exit)
        return status
    except RagError as exc:
        if args.debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `rag docs | head`: the reader has what it wanted
        # (what the Python docs advise: no further write to the closed pipe at exit)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except Exception as exc:  # noqa: BLE001 - a bug or an unforeseen failure: one line still
        if args.debug:
            raise
        detail = " ".join(str(exc).split())[:300] or "no details"
        print(f"error: unexpected {type(exc).__name__}: {detail} (run again with --debug for "
              "the traceback, and please report it)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
