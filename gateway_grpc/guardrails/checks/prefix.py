"""`default.addPrefix` (Portkey plugins/default/addPrefix.ts), a before-request transformer: prepends `prefix` to the
first message of `applyToRole` (or inserts a message of that role before it, or adds one when none exists: a system
message first, any other role last), or to a completion's prompt. Always passes. Pure; no I/O.

Beyond the reference: an empty last message gets the prefix too (the reference leaves it unchanged there, though
`onlyIfEmpty` exists for exactly that case), and a parts list always gets it on its first text part.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from gateway_grpc.completions import CompletionRequest
from gateway_grpc.guardrails.base import BEFORE, CheckFn, CheckType, Outcome, Params, Services, Subject
from gateway_grpc.types import ChatRequest, Message, TextPart

ROLES = ("user", "system", "assistant")


def _prefixed(content: Any, prefix: str) -> Any:
    """Content with the prefix: before a string, on the first text part, or as a new first text part."""
    if content is None or isinstance(content, str):
        return prefix + (content or "")
    for i, part in enumerate(content):
        if isinstance(part, TextPart):
            return (*content[:i], replace(part, text=prefix + part.text), *content[i + 1:])
    return (TextPart(prefix), *content)


def _is_empty(content: Any) -> bool:
    """Portkey's test: a blank string or no parts (a None content is not empty)."""
    return content.strip() == "" if isinstance(content, str) else content == ()


def _chat(request: ChatRequest, prefix: str, role: str, add_to_existing: bool,
          only_if_empty: bool) -> tuple[ChatRequest | None, str]:
    messages = request.messages
    index = next((i for i, message in enumerate(messages) if message.role == role), None)
    if index is None:
        at = 0 if role == "system" else len(messages)
        new = (*messages[:at], Message(role, prefix), *messages[at:])
        return replace(request, messages=new), f"added a {role} message at index {at}"
    target = messages[index]
    if only_if_empty and not _is_empty(target.content):
        return None, f"left the {role} message at index {index} unchanged (not empty)"
    if not add_to_existing:
        new = (*messages[:index], Message(role, prefix), *messages[index:])
        return replace(request, messages=new), f"inserted a {role} message at index {index}"
    new = (*messages[:index], replace(target, content=_prefixed(target.content, prefix)), *messages[index + 1:])
    return replace(request, messages=new), f"prepended to the {role} message at index {index}"


def _completion(request: CompletionRequest, prefix: str) -> tuple[CompletionRequest, str]:
    prompt = request.prompt
    if isinstance(prompt, str):
        return replace(request, prompt=prefix + prompt), "prepended to the prompt"
    new = (prefix + prompt[0], *prompt[1:]) if prompt else (prefix,)
    return replace(request, prompt=new), "prepended to the first prompt"


def _compile(params: Params, services: Services) -> CheckFn:
    prefix = params.string("prefix", required=True)
    if not prefix:
        raise params.error("prefix", "must not be empty")
    role = params.choice("applyToRole", ROLES, "user")
    add_to_existing = params.boolean("addToExisting", True)
    only_if_empty = params.boolean("onlyIfEmpty")
    settings = {"prefix": prefix, "applyToRole": role, "addToExisting": add_to_existing, "onlyIfEmpty": only_if_empty}

    def check(subject: Subject) -> Outcome:
        request = subject.request
        if isinstance(request, ChatRequest):
            new, action = _chat(request, prefix, role, add_to_existing, only_if_empty)
        elif isinstance(request, CompletionRequest):
            new, action = _completion(request, prefix)
        else:  # Portkey: embeddings are left alone
            new, action = None, f"nothing to prefix in a {subject.request_type} request"
        return Outcome(True, {**settings, "requestType": subject.request_type, "action": action}, request=new)

    return check


ADD_PREFIX = CheckType("default.addPrefix", _compile, frozenset({BEFORE}), negatable=False, transforms=True)
