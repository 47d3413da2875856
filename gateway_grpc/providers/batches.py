"""Embeddings batching: a request with more inputs than the provider takes in one call is cut into batches, in
order, and the answers merged back (vectors in input order, usage summed). Pure; providers/call.py sends them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from gateway_grpc.types import EmbeddingsRequest, EmbeddingsResponse, Usage


def embedding_batches(request: EmbeddingsRequest, size: int | None) -> list[EmbeddingsRequest]:
    """`request` itself when it fits (or the provider has no limit), else one request per `size` inputs."""
    items = request.inputs or request.token_inputs
    if size is None or len(items) <= size:
        return [request]
    field = "inputs" if request.inputs else "token_inputs"
    return [replace(request, **{field: items[start:start + size]}) for start in range(0, len(items), size)]


def merged_embeddings(answers: Sequence[EmbeddingsResponse]) -> EmbeddingsResponse:
    """The batches' answers as one: vectors concatenated in batch order, usage summed (None when none reported)."""
    usages = [a.usage for a in answers if a.usage is not None]
    usage = Usage(prompt_tokens=sum(u.prompt_tokens for u in usages),
                  total_tokens=sum(u.total_tokens for u in usages)) if usages else None
    return EmbeddingsResponse(next((a.model for a in answers if a.model), ""),
                              tuple(v for a in answers for v in a.vectors), usage)
