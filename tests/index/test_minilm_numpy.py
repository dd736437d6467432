"""The numpy runtime of the embedding model gives sentence-transformers' vectors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
POOL = ROOT.parent / "shared" / "squad-dev-13" / "pool.jsonl"


def _texts() -> list[str]:
    texts = [
        "Which warships took part?",
        "",
        "Héllo — naïve café ½ 東京 🙂 [CLS] <b>tags</b>",
        "word " * 400,  # past the 256 word pieces both truncate at
    ]
    for article in sorted((ROOT / "corpus").glob("*.txt")):
        texts += [p for p in article.read_text().split("\n\n") if p.strip()]
    if POOL.exists():
        with POOL.open() as lines:
            for _, line in zip(range(60), lines):
                row = json.loads(line)
                texts += [row["question"], row["evidence"]]
    return texts


def test_numpy_vectors_match_sentence_transformers(embedder):
    texts = _texts()
    fast = np.array(embedder.embed_texts(texts))
    reference = np.array(embedder.embed_documents(texts))
    assert fast.shape == reference.shape == (len(texts), 384)
    assert np.abs(fast - reference).max() < 1e-5
    assert np.allclose(np.linalg.norm(fast, axis=1), 1.0, atol=1e-5)
    assert np.allclose(embedder.embed_query(texts[0]), reference[0], atol=1e-5)


def test_asking_needs_no_torch():
    code = ("import sys; from index.embedder import MiniLMEmbedder; "
            "MiniLMEmbedder().embed_query('who?'); "
            "print('torch' in sys.modules, 'sentence_transformers' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, cwd=ROOT)
    assert result.stdout.split() == ["False", "False"]
