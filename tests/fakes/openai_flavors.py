"""The fake OpenAI upstream's other dialects: Azure OpenAI and Mistral, as data plus small pure functions.

A `Flavor` says where its routes live, how it authenticates, how a request body reads as OpenAI's (Azure takes the
deployment as the model; Mistral's own keys renamed back) and how its replies depart from OpenAI's. Everything else
(directives, faults, bodies) is the OpenAI fake's. Never imported by gateway code.

- Azure: `/openai/deployments/{deployment}/chat/completions` and `/embeddings`, `/openai/models`; `?api-version=`
  required (else 404 "Resource not found", as Azure); `api-key` header or `Authorization: Bearer` (Entra);
  `prompt_filter_results` and choices' `content_filter_results`, and a stream's filter-only first chunk.
- Mistral: `/mistral/v1/...`; Bearer auth; Mistral refuses keys its API does not have (422, `extra_forbidden`),
  roles other than system/user/assistant/tool, and tool call ids that are not 9 letters or digits (400); its own
  tool call ids are 9 characters; streams report usage unasked.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request

from tests.fakes import openai_replies as replies

Failure = tuple[int, dict]  # (status, JSON body)
_BAD_KEY = "sk-bad"


def _no_change(body: dict, request: Request) -> dict:
    return body


def _nothing_wrong(body: dict) -> Failure | None:
    return None


def _keep(raw: dict) -> dict:
    return raw


@dataclass(frozen=True)
class Flavor:
    name: str
    refuse: Callable[[Request], Failure | None]  # auth and URL checks, before the body is read
    as_openai: Callable[[dict, Request], dict] = _no_change  # the body as the OpenAI oracle and replies read it
    check: Callable[[dict], Failure | None] = _nothing_wrong  # the host's own request rules (any strictness)
    completion: Callable[[dict], dict] = _keep
    chunk: Callable[[dict], dict] = _keep
    stream_prelude: tuple[dict, ...] = field(default=())  # events sent before the first chunk


# --- OpenAI -----------------------------------------------------------------------------------------------------


def openai_refusal(request: Request) -> Failure | None:
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key:
        return 401, replies.error_body(replies.MISSING_KEY, "invalid_request_error")
    if key == _BAD_KEY:
        return 401, replies.status_error(401, key=key)
    return None


OPENAI = Flavor("openai", openai_refusal)

# --- Azure OpenAI -----------------------------------------------------------------------------------------------

_AZURE_DENIED = ("Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid "
                 "key for an active subscription and use a correct regional API endpoint for your resource.")
_FILTERS = {name: {"filtered": False, "severity": "safe"} for name in ("hate", "self_harm", "sexual", "violence")}


def azure_refusal(request: Request) -> Failure | None:
    if not request.query_params.get("api-version"):
        return 404, {"error": {"code": "404", "message": "Resource not found"}}
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    key = request.headers.get("api-key") or (token.strip() if scheme.lower() == "bearer" else "")
    if not key or key == _BAD_KEY:
        return 401, {"error": {"code": "401", "message": _AZURE_DENIED}}
    return None


def _azure_model(body: dict, request: Request) -> dict:
    """Azure routes by deployment and ignores `model`; the fake answers as the deployment when it is absent."""
    return body if "model" in body else {**body, "model": request.path_params.get("deployment", "")}


def _azure_completion(raw: dict) -> dict:
    for choice in raw["choices"]:
        choice["content_filter_results"] = _FILTERS
    return {**raw, "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": _FILTERS}]}


def _azure_chunk(raw: dict) -> dict:
    for choice in raw["choices"]:
        choice.setdefault("content_filter_results", {})
    return raw


_AZURE_PRELUDE = {"choices": [], "created": 0, "id": "", "model": "", "object": "",
                  "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": _FILTERS}]}
AZURE = Flavor("azure", azure_refusal, _azure_model, completion=_azure_completion, chunk=_azure_chunk,
               stream_prelude=(_AZURE_PRELUDE,))

# --- Mistral ----------------------------------------------------------------------------------------------------

MISTRAL_KEYS = frozenset({
    "model", "messages", "temperature", "top_p", "max_tokens", "stream", "stop", "random_seed", "response_format",
    "tools", "tool_choice", "presence_penalty", "frequency_penalty", "n", "prediction", "parallel_tool_calls",
    "prompt_mode", "safe_prompt",
})
MISTRAL_EMBED_KEYS = frozenset({"model", "input", "output_dimension", "output_dtype", "encoding_format"})
MISTRAL_ROLES = frozenset({"system", "user", "assistant", "tool"})
MISTRAL_OWN_KEYS = ("safe_prompt", "prompt_mode")  # not OpenAI's: left out of the OpenAI oracle's view
_MISTRAL_TOOL_ID = re.compile(r"[A-Za-z0-9]{9}")


def mistral_error(message: Any, type_: str) -> dict:
    return {"object": "error", "message": message, "type": type_, "param": None, "code": None}


def _extra_forbidden(loc: list, value: Any) -> Failure:
    detail = {"type": "extra_forbidden", "loc": ["body", *loc], "msg": "Extra inputs are not permitted",
              "input": value}
    return 422, mistral_error({"detail": [detail]}, "invalid_request_message_error")


def _mistral_check(body: dict) -> Failure | None:
    allowed = MISTRAL_EMBED_KEYS if "input" in body and "messages" not in body else MISTRAL_KEYS
    for key in body:
        if key not in allowed:
            return _extra_forbidden([key], body[key])
    for index, message in enumerate(body.get("messages") or ()):
        if not isinstance(message, dict) or message.get("role") not in MISTRAL_ROLES:
            role = message.get("role") if isinstance(message, dict) else None
            return 422, mistral_error({"detail": [{"type": "union_tag_invalid", "loc": ["body", "messages", index],
                                                   "msg": f"Input tag '{role}' found using 'role' does not match any "
                                                          "of the expected tags"}]}, "invalid_request_message_error")
        ids = [c.get("id") for c in message.get("tool_calls") or () if isinstance(c, dict)]
        ids += [message["tool_call_id"]] if "tool_call_id" in message else []
        for call_id in ids:
            if not isinstance(call_id, str) or not _MISTRAL_TOOL_ID.fullmatch(call_id):
                text = f"Tool call id was {call_id} but must be a-z, A-Z, 0-9, with a length of 9."
                return 400, mistral_error(text, "invalid_request_error")
    return None


def _mistral_as_openai(body: dict, request: Request) -> dict:
    """Mistral's spelling read back as OpenAI's; usage always on (Mistral streams report it unasked)."""
    out = {k: v for k, v in body.items() if k not in MISTRAL_OWN_KEYS}
    if "random_seed" in out:
        out["seed"] = out.pop("random_seed")
    if "output_dimension" in out:
        out["dimensions"] = out.pop("output_dimension")
    if out.get("stream"):
        out["stream_options"] = {"include_usage": True}
    return out


def mistral_tool_call_id(index: int) -> str:
    return f"mIsTrAl{index:02d}"


def _mistral_ids(raw: dict) -> dict:
    raw = copy.deepcopy(raw)
    for choice in raw["choices"]:
        part = choice.get("message") or choice.get("delta") or {}
        for position, call in enumerate(part.get("tool_calls") or ()):
            if "id" in call:
                call["id"] = mistral_tool_call_id(call.get("index", position))
    return raw


MISTRAL = Flavor("mistral", openai_refusal, _mistral_as_openai, _mistral_check, completion=_mistral_ids,
                 chunk=_mistral_ids)
