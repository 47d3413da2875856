"""What a semantic-cache lookup costs, in-process: `python -m bench.semantic` (2-core box: ~3 min with 100k).

Measures with the real MiniLMEmbedder and VectorIndex, one thread each, as the server runs them:
  * embedding one prompt (prompts from tests/data/semantic_pairs.jsonl);
  * VectorIndex.add while filling one namespace to each size (random unit vectors; their cost and recall are the
    HNSW worst case: isotropic data has no low-dimensional structure for the graph to exploit);
  * VectorIndex.nearest at each size, for queries at cosine 0.9 from a stored vector (a paraphrase), and the share
    whose top-1 equals exact search's; exact numpy search at the same size, for comparison;
  * lookup = embed + nearest, the figure the issue budgets (<= 5 ms p50 at 100k); interleaving the two costs more
    than their sum, as each evicts the other's memory (the model's ~42 MB of fp32 weights, the graph) from cache;
  * with --real N: the same namespace filled with MiniLM embeddings of N generated prompts (~3 ms each to embed),
    asked with held-out generated prompts and with re-worded stored ones: top-1 agreement with exact search.
Percentiles are over individual calls. Set OPENBLAS_NUM_THREADS=1 to give the exact-numpy row one core as well.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import random
import time
from collections.abc import Callable, Sequence

import numpy as np

from gateway_grpc.cache.embedder import MiniLMEmbedder
from gateway_grpc.cache.vectors import VectorIndex

PAIRS = pathlib.Path(__file__).resolve().parent.parent / "tests" / "data" / "semantic_pairs.jsonl"


def percentiles(samples: Sequence[float]) -> tuple[float, float]:
    """(p50, p99) in milliseconds of samples in seconds."""
    ms = np.asarray(samples) * 1e3
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 99))


def timed(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def unit(rng: np.random.Generator, n: int, dims: int) -> np.ndarray:
    vectors = rng.standard_normal((n, dims)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def paraphrases(rng: np.random.Generator, sources: np.ndarray, cosine: float) -> np.ndarray:
    noise = unit(rng, len(sources), sources.shape[1])
    noise -= (noise * sources).sum(axis=1, keepdims=True) * sources
    noise /= np.linalg.norm(noise, axis=1, keepdims=True)
    return (cosine * sources + np.sqrt(1 - cosine**2) * noise).astype(np.float32)


def bench_size(embedder: MiniLMEmbedder, prompts: list[str], size: int, queries: int) -> list[tuple]:
    rng = np.random.default_rng(size)
    stored = unit(rng, size, embedder.dimensions)
    index = VectorIndex(embedder.dimensions, size)
    adds = [timed(lambda i=i, v=v: index.add("ns", str(i), v)) for i, v in enumerate(stored)]
    picked = rng.choice(size, queries, replace=False)
    asks = paraphrases(rng, stored[picked], 0.9)
    found = [index.nearest("ns", q) for q in asks]
    exact = np.argmax(asks @ stored.T, axis=1)
    agreement = np.mean([int(key) == e for (key, _), e in zip(found, exact, strict=True)])
    lookups = [timed(lambda p=p: index.nearest("ns", embedder.embed([p])[0])) for p in prompts[:queries]]
    return [
        (size, "add (while filling)", *percentiles(adds[-min(size, 5000):])),
        (size, "nearest", *percentiles([timed(lambda q=q: index.nearest("ns", q)) for q in asks])),
        (size, "exact numpy search", *percentiles([timed(lambda q=q: int(np.argmax(stored @ q))) for q in asks])),
        (size, "lookup = embed + nearest", *percentiles(lookups)),
        (size, f"nearest top-1 == exact: {agreement:.3f}", None, None),
    ]


NOUNS = ["list", "file", "database", "server", "cache", "query", "report", "invoice", "contract", "email", "essay",
         "poem", "recipe", "garden", "dog", "car", "train", "house", "phone", "laptop", "password", "account", "order",
         "customer", "team", "meeting", "project", "trip", "hotel", "flight", "city", "river", "planet", "cell",
         "protein", "virus", "doctor", "school", "student", "exam", "book", "song", "movie", "painting"]
VERBS = ["sort", "merge", "parse", "encrypt", "delete", "rename", "install", "update", "debug", "test", "deploy",
         "optimize", "explain", "summarize", "fix"]
PLACES = ["France", "Germany", "Spain", "Japan", "India", "Brazil", "Canada", "Egypt", "Kenya", "Norway", "Peru",
          "Chile", "Vietnam", "Ireland"]
ADJECTIVES = ["large", "small", "fast", "slow", "cheap", "old", "new", "broken", "empty", "nested", "remote", "public",
              "simple", "healthy", "long"]
TEMPLATES = (
    "How do I {verb} a {adjective} {noun} in Python?", "What is the {noun} situation in {place}?",
    "Can you {verb} this {noun} for my {noun2}?", "Why is my {noun} so {adjective} after I {verb} the {noun2}?",
    "Write a short story about a {adjective} {noun} in {place}.", "What are {n} ways to {verb} a {noun}?",
    "Compare the {noun} and the {noun2} for a {adjective} project.", "{verb} {noun} {adjective} {noun2} {place}",
)


def generated_prompts(count: int, seed: int) -> list[str]:
    rng, seen = random.Random(seed), set()
    while len(seen) < count:
        seen.add(rng.choice(TEMPLATES).format(
            verb=rng.choice(VERBS), noun=rng.choice(NOUNS), noun2=rng.choice(NOUNS), place=rng.choice(PLACES),
            adjective=rng.choice(ADJECTIVES), n=rng.randint(2, 12)))
    return sorted(seen)


def bench_real(embedder: MiniLMEmbedder, count: int, queries: int) -> list[tuple]:
    prompts = generated_prompts(count + queries, seed=count)
    random.Random(0).shuffle(prompts)
    stored = np.vstack([embedder.embed([p]) for p in prompts[:count]])
    index = VectorIndex(embedder.dimensions, count)
    for i, v in enumerate(stored):
        index.add("ns", str(i), v)
    rows = []
    reworded = [f"Please, {p[0].lower()}{p[1:]}" for p in prompts[:queries]]
    for name, texts in (("held-out prompts", prompts[count:]), ("re-worded stored prompts", reworded)):
        asks = np.vstack([embedder.embed([t]) for t in texts])
        exact = np.argmax(asks @ stored.T, axis=1)
        agreement = np.mean([int(index.nearest("ns", q)[0]) == e for q, e in zip(asks, exact, strict=True)])
        rows.append((count, f"MiniLM, {name}: nearest", *percentiles([timed(lambda q=q: index.nearest("ns", q))
                                                                          for q in asks])))
        rows.append((count, f"MiniLM, {name}: top-1 == exact: {agreement:.3f}", None, None))
    lookups = [timed(lambda t=t: index.nearest("ns", embedder.embed([t])[0])) for t in prompts[count:]]
    rows.append((count, "MiniLM, lookup = embed + nearest", *percentiles(lookups)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="entries in the namespace, comma-separated")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--real", type=int, default=0, help="also fill with N MiniLM embeddings (100k: ~6 min)")
    args = parser.parse_args()
    pairs = [json.loads(line) for line in PAIRS.read_text().splitlines()]
    prompts = [text for pair in pairs for text in (pair["a"], pair["b"])]
    started = time.perf_counter()
    embedder = MiniLMEmbedder()
    rows = [("-", "embedder load", (time.perf_counter() - started) * 1e3, None)]
    embedder.embed(prompts[:8])  # warm-up
    rows.append(("-", "embed one prompt", *percentiles([timed(lambda p=p: embedder.embed([p])) for p in prompts])))
    for size in map(int, args.sizes.split(",")):
        rows += bench_size(embedder, prompts, size, args.queries)
    if args.real:
        rows += bench_real(embedder, args.real, args.queries)
    width = max(len(row[1]) for row in rows)
    print(f"{'entries':>8}  {'operation':<{width}} {'p50 ms':>8} {'p99 ms':>8}")
    for size, name, p50, p99 in rows:
        cells = "".join(f" {value:8.3f}" if value is not None else "" for value in (p50, p99))
        print(f"{size:>8}  {name:<{width}}{cells}")


if __name__ == "__main__":
    main()
