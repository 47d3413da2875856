"""Subjects for guardrail check tests: a chat request (BEFORE) or a chat response (AFTER) around one text."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway_grpc.guardrails.base import AFTER, BEFORE, CHAT, Subject
from gateway_grpc.types import ChatRequest, ChatResponse, Choice, Message

MODEL = "gpt-4o-mini"


def chat_subject(text: str, *, model: str = MODEL, metadata: Mapping[str, Any] | None = None,
                 messages: tuple[Message, ...] | None = None, request_type: str = CHAT) -> Subject:
    """A before-request subject: `messages` (default: one user message holding `text`)."""
    request = ChatRequest(model=model, messages=messages if messages is not None else (Message("user", text),))
    return Subject(BEFORE, request_type, request, text=text, model=model, metadata=metadata or {})


def response_subject(text: str, *, model: str = MODEL, metadata: Mapping[str, Any] | None = None,
                     choices: tuple[str, ...] | None = None) -> Subject:
    """An after-request subject: a chat response whose choices hold `choices` (default: `text` alone)."""
    texts = choices if choices is not None else (text,)
    response = ChatResponse(id="chatcmpl-1", created=0, model=model,
                            choices=tuple(Choice(i, Message("assistant", t)) for i, t in enumerate(texts)))
    request = ChatRequest(model=model, messages=(Message("user", "question"),))
    return Subject(AFTER, CHAT, request, response, text=text, model=model, metadata=metadata or {})
