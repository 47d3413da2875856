"""How well "cosine >= threshold" separates paraphrases from near misses on tests/data/semantic_pairs.jsonl
(168 labelled pairs written for this test: 72 `same`, 96 `different`, mostly hard negatives) with MiniLMEmbedder and the
last-user-turn text that prompt_text() embeds.

Measured (all-MiniLM-L6-v2 int8 ONNX, onnxruntime 1.32.0):
    threshold  precision  recall   (TP / FP / FN)
    0.95       0.778      0.486    35 / 10 / 37
    0.90       0.756      0.819    59 / 19 / 13
    0.85       0.677      0.931    67 / 32 / 5
No threshold is safe against swapped or negated words: "convert a string to an integer" vs "an integer to a string"
scores 0.996, "10 miles to kilometers" vs "10 kilometers to miles" 0.993, "Sort these numbers: 4, 8, 1, 6" vs
"4, 8, 2, 6" 0.985. The floors below are the measured figures minus 0.03: a changed model, tokenizer or pooling
that shifts them fails here.
"""

import json
import pathlib

import numpy as np
import pytest

from gateway_grpc.cache.embedder import MiniLMEmbedder
from gateway_grpc.cache.prompt_text import prompt_text
from gateway_grpc.types import ChatRequest, Message

PAIRS = pathlib.Path(__file__).resolve().parents[2] / "data" / "semantic_pairs.jsonl"
FLOORS = {0.95: (0.748, 0.456), 0.90: (0.726, 0.789), 0.85: (0.647, 0.901)}  # threshold: (precision, recall)


@pytest.fixture(scope="module")
def scored() -> tuple[np.ndarray, np.ndarray]:
    pairs = [json.loads(line) for line in PAIRS.read_text().splitlines()]
    embedder = MiniLMEmbedder()
    a = np.vstack([embedder.embed([embedded(p["a"])]) for p in pairs])  # one by one: a batch pads to its longest
    b = np.vstack([embedder.embed([embedded(p["b"])]) for p in pairs])
    return (a * b).sum(axis=1), np.array([p["label"] == "same" for p in pairs])


def embedded(prompt: str) -> str:
    text = prompt_text(ChatRequest(model="m", messages=(Message("system", "Be brief."), Message("user", prompt))))
    assert text is not None
    return text


def test_semantic_pairs_set_is_labelled_and_large_enough():
    pairs = [json.loads(line) for line in PAIRS.read_text().splitlines()]
    assert len(pairs) >= 120
    assert {p["label"] for p in pairs} == {"same", "different"}
    assert all(set(p) == {"a", "b", "label"} and p["a"] != p["b"] for p in pairs)
    assert len({(p["a"], p["b"]) for p in pairs}) == len(pairs)


@pytest.mark.parametrize("threshold", sorted(FLOORS, reverse=True))
def test_semantic_pairs_precision_and_recall_hold_at(scored, threshold):
    similarity, same = scored
    hit = similarity >= threshold
    precision = (hit & same).sum() / hit.sum()
    recall = (hit & same).sum() / same.sum()
    floor_precision, floor_recall = FLOORS[threshold]
    assert precision >= floor_precision, f"precision {precision:.3f} at {threshold}"
    assert recall >= floor_recall, f"recall {recall:.3f} at {threshold}"
