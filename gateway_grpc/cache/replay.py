"""Streams and whole answers, each made from the other: a completed stream assembled into the answer it amounts to
(stored, and served to later plain calls too), and a stored answer replayed as a stream. Pure.

Replay sends, per choice, one chunk with the role and the whole message (content, reasoning, refusal, tool calls
with their indices), then one with the finish reason and logprobs, then the usage chunk (no choices) when the
caller asked for usage: what an OpenAI client reassembles into the same answer.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from gateway_grpc.completions import Completion, CompletionChoice
from gateway_grpc.types import (
    EMPTY,
    ChatChunk,
    ChatResponse,
    Choice,
    ChunkChoice,
    Delta,
    Message,
    ToolCall,
    ToolCallDelta,
)


@dataclass(slots=True)
class _Call:
    id: str = ""
    type: str = "function"
    name: str = ""
    arguments: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class _Choice:
    role: str = "assistant"
    content: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    refusal: list[str] = field(default_factory=list)
    calls: dict[int, _Call] = field(default_factory=dict)
    finish_reason: str | None = None
    logprobs: dict[str, list[Any]] = field(default_factory=dict)

    def add(self, choice: ChunkChoice) -> None:
        delta = choice.delta
        self.role = delta.role or self.role
        for parts, text in ((self.content, delta.content), (self.reasoning, delta.reasoning_content),
                            (self.refusal, delta.refusal)):
            if text:
                parts.append(text)
        for piece in delta.tool_calls:
            call = self.calls.setdefault(piece.index, _Call())
            call.id, call.type, call.name = call.id or piece.id, piece.type or call.type, call.name or piece.name
            call.arguments += piece.arguments
            call.extra.update(piece.extra)
        self.finish_reason = choice.finish_reason or self.finish_reason
        for key, rows in (choice.logprobs or EMPTY).items():
            self.logprobs.setdefault(key, []).extend(rows or ())

    def message(self) -> Message:
        calls = tuple(ToolCall(c.id, c.name, c.arguments, c.type, c.extra or EMPTY)
                      for _, c in sorted(self.calls.items()))
        return Message(self.role, "".join(self.content) if self.content or not calls else None, tool_calls=calls,
                       refusal="".join(self.refusal) or None, reasoning_content="".join(self.reasoning) or None)


def assemble_chat(chunks: Iterable[ChatChunk]) -> ChatResponse | None:
    """The answer a chat stream amounts to; None for a stream without chunks."""
    first, usage, choices = None, None, {}
    for chunk in chunks:
        first = first or chunk
        usage = chunk.usage or usage
        for choice in chunk.choices:
            choices.setdefault(choice.index, _Choice()).add(choice)
    if first is None:
        return None
    return ChatResponse(first.id, first.created, first.model, tuple(
        Choice(i, c.message(), c.finish_reason, c.logprobs or None) for i, c in sorted(choices.items())),
        usage, first.system_fingerprint, first.service_tier)


def replay_chat(answer: ChatResponse, include_usage: bool) -> list[ChatChunk]:
    def chunk(choices: tuple[ChunkChoice, ...], usage: Any = None) -> ChatChunk:
        return ChatChunk(answer.id, answer.created, answer.model, choices, usage, answer.system_fingerprint,
                         answer.service_tier)

    out = []
    for choice in answer.choices:
        m = choice.message
        calls = tuple(ToolCallDelta(i, c.id, c.type, c.name, c.arguments, c.extra) for i, c in enumerate(m.tool_calls))
        text = m.content if isinstance(m.content, str) else None
        out.append(chunk((ChunkChoice(choice.index, Delta(m.role, text, calls, m.refusal, m.reasoning_content)),)))
        out.append(chunk((ChunkChoice(choice.index, Delta(), choice.finish_reason, choice.logprobs),)))
    if include_usage and answer.usage is not None:
        out.append(chunk((), answer.usage))
    return out


def assemble_text(chunks: Iterable[Completion]) -> Completion | None:
    """The answer a text completion stream amounts to; None for a stream without chunks."""
    first, usage = None, None
    texts: dict[int, list[str]] = {}
    finish: dict[int, str | None] = {}
    for chunk in chunks:
        first, usage = first or chunk, chunk.usage or usage
        for choice in chunk.choices:
            texts.setdefault(choice.index, []).append(choice.text)
            finish[choice.index] = choice.finish_reason or finish.get(choice.index)
    if first is None:
        return None
    choices = tuple(CompletionChoice(i, "".join(parts), finish[i]) for i, parts in sorted(texts.items()))
    return Completion(first.id, first.created, first.model, choices, usage, first.system_fingerprint)


def replay_text(answer: Completion, include_usage: bool) -> list[Completion]:
    out = [Completion(answer.id, answer.created, answer.model, (choice,), None, answer.system_fingerprint)
           for choice in answer.choices]
    if include_usage and answer.usage is not None:
        out.append(Completion(answer.id, answer.created, answer.model, (), answer.usage, answer.system_fingerprint))
    return out


# An answer's kind (a route op's cache_kind) -> how its stream is assembled into one answer, and replayed from it.
ASSEMBLE = {"chat": assemble_chat, "completions": assemble_text}
REPLAY = {"chat": replay_chat, "completions": replay_text}
