"""Many users at once: `python -m bench.users [--users 8] [--backend local]`.

Starts `rag ui` on the bundled corpus in a subprocess, as a user would, waits until
its models are loaded, then has N users ask the `/ask` endpoint at the same moment
through gradio_client, each a different seed question, twice over. Reports latency
p50/p95 per answer, the wall time for all of them, and errors. Writes
bench/out/users.json.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from bench.run import SEED_QUESTIONS

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--backend", default="local")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "users.json")
    args = parser.parse_args()

    from gradio_client import Client

    with tempfile.TemporaryDirectory() as scratch:
        env = {**os.environ, "RAG_INDEX_DIR": str(Path(scratch) / "index"),
               "RAG_BACKEND": args.backend}
        subprocess.run([sys.executable, "-m", "rag.cli", "ingest", str(ROOT / "corpus")],
                       env=env, check=True, capture_output=True, cwd=ROOT)
        port = _free_port()
        log = open(Path(scratch) / "ui.log", "w")  # noqa: SIM115 - open while the server runs
        server = subprocess.Popen([sys.executable, "-m", "rag.cli", "ui", "--port", str(port)],
                                  env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        try:
            url = f"http://127.0.0.1:{port}/"
            deadline = time.monotonic() + 180
            while True:
                try:
                    client = Client(url, verbose=False)
                    break
                except Exception:  # noqa: BLE001 - not up yet
                    if server.poll() is not None or time.monotonic() > deadline:
                        raise SystemExit(f"the UI did not start; see {log.name}") from None
                    time.sleep(1)
            client.predict(SEED_QUESTIONS[0], api_name="/ask")  # models loaded, caches warm

            latencies: list[float] = []
            errors: list[str] = []
            lock = threading.Lock()

            def user(number: int) -> None:
                own = Client(url, verbose=False)
                for round_ in range(args.rounds):
                    question = SEED_QUESTIONS[(number + round_) % len(SEED_QUESTIONS)]
                    tick = time.perf_counter()
                    try:
                        result = own.predict(question, api_name="/ask")
                        assert isinstance(result, dict) and "answer" in result
                        with lock:
                            latencies.append(time.perf_counter() - tick)
                    except Exception as exc:  # noqa: BLE001 - counted, reported
                        with lock:
                            errors.append(f"{type(exc).__name__}: {exc}")

            started = time.perf_counter()
            threads = [threading.Thread(target=user, args=(n,)) for n in range(args.users)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            wall = time.perf_counter() - started
        finally:
            server.terminate()
            server.wait(timeout=30)
            log.close()

    result = {
        "date": time.strftime("%Y-%m-%d %H:%M"), "backend": args.backend,
        "users": args.users, "answers": len(latencies), "errors": len(errors),
        "latency_p50_s": round(statistics.median(latencies), 2) if latencies else None,
        "latency_p95_s": round(float(np.percentile(latencies, 95)), 2) if latencies else None,
        "wall_s": round(wall, 1),
        "answers_per_minute": round(60 * len(latencies) / wall, 1),
        "first_errors": errors[:3],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
