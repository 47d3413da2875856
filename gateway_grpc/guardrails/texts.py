"""The text guardrails judge and edit, taken from and put back into neutral requests and responses.

`request_text` / `response_text` are Portkey's extraction (contract §8.1): what verdict checks see. `map_*_texts`
apply one edit to every text of a request (every message's text parts, every prompt, every input) or response
(every choice), for transformers: a redaction must not leave the same secret in an earlier turn or another choice.
Pure; no I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from gateway_grpc.cache.prompt_text import message_text
from gateway_grpc.completions import Completion, CompletionRequest
from gateway_grpc.types import ChatRequest, ChatResponse, EmbeddingsRequest, Message, TextPart

Edit = Callable[[str], str]


def request_text(request: Any) -> str:
    """The last message's text (chat), the prompt (completions; several joined by newlines), the inputs
    (embeddings, joined by newlines)."""
    if isinstance(request, ChatRequest):
        return message_text(request.messages[-1]) if request.messages else ""
    if isinstance(request, CompletionRequest):
        prompt = request.prompt
        return prompt if isinstance(prompt, str) else "\n".join(prompt)
    if isinstance(request, EmbeddingsRequest):
        return "\n".join(request.inputs)
    return ""


def response_text(response: Any) -> str:
    """The first choice's text: a chat message's content, or a completion's text."""
    if isinstance(response, ChatResponse):
        return message_text(response.choices[0].message) if response.choices else ""
    if isinstance(response, Completion):
        return response.choices[0].text if response.choices else ""
    return ""


def _edited_message(message: Message, edit: Edit) -> Message:
    content = message.content
    if isinstance(content, str):
        new: Any = edit(content)
    elif isinstance(content, tuple):
        new = tuple(replace(part, text=edit(part.text)) if isinstance(part, TextPart) else part for part in content)
    else:
        return message
    return message if new == content else replace(message, content=new)


def map_request_texts(request: Any, edit: Edit) -> Any:
    """`request` with `edit` applied to each of its texts; the same object when nothing changed."""
    if isinstance(request, ChatRequest):
        messages = tuple(_edited_message(message, edit) for message in request.messages)
        changed = any(new is not old for new, old in zip(messages, request.messages, strict=True))
        return replace(request, messages=messages) if changed else request
    if isinstance(request, CompletionRequest):
        prompt = request.prompt
        new_prompt = edit(prompt) if isinstance(prompt, str) else tuple(edit(p) for p in prompt)
        return request if new_prompt == prompt else replace(request, prompt=new_prompt)
    if isinstance(request, EmbeddingsRequest):
        inputs = tuple(edit(text) for text in request.inputs)
        return request if inputs == request.inputs else replace(request, inputs=inputs)
    return request


def map_response_texts(response: Any, edit: Edit) -> Any:
    """`response` with `edit` applied to every choice's text; the same object when nothing changed."""
    if isinstance(response, ChatResponse):
        choices = tuple(replace(c, message=_edited_message(c.message, edit)) for c in response.choices)
        changed = any(new.message is not old.message for new, old in zip(choices, response.choices, strict=True))
        return replace(response, choices=choices) if changed else response
    if isinstance(response, Completion):
        choices = tuple(replace(c, text=edit(c.text)) for c in response.choices)
        changed = any(new.text != old.text for new, old in zip(choices, response.choices, strict=True))
        return replace(response, choices=choices) if changed else response
    return response
