"""Strict OpenAI compliance (Portkey's `x-portkey-strict-open-ai-compliance`, on by default): a translated answer
carries only what OpenAI's schema has. What translators add beyond it (reasoning text, thinking blocks, citations,
provider content blocks) reaches the caller only when the caller turns strictness off (contract §7).

OpenAI-family answers are relayed as the upstream sent them either way: their extras are the upstream's own.
"""

from __future__ import annotations

from dataclasses import replace

from gateway_grpc.types import EMPTY, ChatChunk, ChatResponse, Choice, ChunkChoice


def _choice(choice: Choice) -> Choice:
    message = choice.message
    if message.reasoning_content is None and not message.extra:
        return choice
    return replace(choice, message=replace(message, reasoning_content=None, extra=EMPTY))


def _chunk_choice(choice: ChunkChoice) -> ChunkChoice:
    delta = choice.delta
    if delta.reasoning_content is None and not delta.extra:
        return choice
    return replace(choice, delta=replace(delta, reasoning_content=None, extra=EMPTY))


def strict_answer(answer: ChatResponse) -> ChatResponse:
    """The answer without translation extras (response, message and reasoning)."""
    return replace(answer, choices=tuple(_choice(c) for c in answer.choices), extra=EMPTY)


def strict_chunk(chunk: ChatChunk) -> ChatChunk:
    """The chunk without translation extras."""
    if not chunk.extra and all(c.delta.reasoning_content is None and not c.delta.extra for c in chunk.choices):
        return chunk
    return replace(chunk, choices=tuple(_chunk_choice(c) for c in chunk.choices), extra=EMPTY)
