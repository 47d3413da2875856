"""Mistral AI (`mistral-ai`): OpenAI's Chat Completions with Mistral's departures. Pure; no I/O.

Departures (Mistral's API reference and its SDK's request models, mistralai/client-python
`models/chatcompletionrequest.py`; Portkey `src/providers/mistral-ai`):
- `max_completion_tokens` is `max_tokens`, `seed` is `random_seed`; embeddings' `dimensions` is `output_dimension`.
- No `logprobs`, `top_logprobs`, `logit_bias`, `user`, `service_tier`, `store`, `metadata`, `reasoning_effort`
  (Mistral answers 422 to keys it does not know): a 400 naming the parameter. `n`, `parallel_tool_calls`,
  `prediction` are Mistral's own; `safe_prompt` and `prompt_mode` are unknown to OpenAI and pass through.
- No `stream_options`: Mistral reports usage on the last chunk of every stream anyway.
- Tool call ids must be 9 letters or digits: ids the caller sends in assistant `tool_calls` and tool messages'
  `tool_call_id` are mapped the same deterministic way (kept when already valid, else a base-62 hash); Mistral's own
  ids come back unchanged, so a conversation that started on Mistral keeps its ids.
- finish_reason `model_length` (context window full) is `length`; `error` (the generation failed) is an upstream
  failure (502, retryable), never a success: Portkey reports it as `stop`.
- FIM (`/v1/fim/completions`) is out of scope: the gateway has no `/v1/completions` route yet.
"""

from __future__ import annotations

import hashlib
import re
import string
from dataclasses import dataclass
from typing import Any

from gateway_grpc.errors import ProviderRejected
from gateway_grpc.providers.openai import OpenAI
from gateway_grpc.providers.openai_dialect import Dialect, adapt_chat_body

MISTRAL_DIALECT = Dialect(
    rejects=frozenset({"logprobs", "top_logprobs", "logit_bias", "user", "service_tier", "store", "metadata",
                       "reasoning_effort"}),
    renames=(("max_completion_tokens", "max_tokens"), ("seed", "random_seed")),
    stream_options=False,
    embedding_renames=(("dimensions", "output_dimension"),),
)
FINISH_REASONS = {"model_length": "length"}
_TOOL_ID = re.compile(r"[A-Za-z0-9]{9}")
_BASE62 = string.ascii_letters + string.digits


def mistral_tool_id(call_id: str) -> str:
    """`call_id` when Mistral accepts it, else 9 base-62 characters of its SHA-256 (same input, same id)."""
    if _TOOL_ID.fullmatch(call_id):
        return call_id
    number = int.from_bytes(hashlib.sha256(call_id.encode()).digest()[:8], "big")  # 62**9 < 2**64
    digits = []
    for _ in range(9):
        number, digit = divmod(number, 62)
        digits.append(_BASE62[digit])
    return "".join(digits)


def _map_tool_ids(messages: Any) -> None:
    for message in messages:
        if not isinstance(message, dict):
            continue
        for call in message.get("tool_calls") or ():
            if isinstance(call, dict) and isinstance(call.get("id"), str):
                call["id"] = mistral_tool_id(call["id"])
        if isinstance(message.get("tool_call_id"), str):
            message["tool_call_id"] = mistral_tool_id(message["tool_call_id"])


def _finish_reason(reason: Any) -> Any:
    if reason == "error":
        raise ProviderRejected("mistral-ai error: the generation ended with finish_reason 'error'",
                               provider="mistral-ai", code="error")
    return FINISH_REASONS.get(reason, reason)


@dataclass(frozen=True, slots=True)
class Mistral(OpenAI):
    """Mistral's chat, embeddings and models APIs, through the OpenAI translation plus the departures above."""

    name: str = "mistral-ai"
    base_url: str = "https://api.mistral.ai/v1"
    dialect: Dialect = MISTRAL_DIALECT

    def _adapt_chat(self, body: dict[str, Any]) -> None:
        adapt_chat_body(body, self.dialect, self.name)
        _map_tool_ids(body.get("messages") or ())

    def _received(self, raw: Any) -> Any:
        for choice in raw.get("choices") or () if isinstance(raw, dict) else ():
            if isinstance(choice, dict) and choice.get("finish_reason") is not None:
                choice["finish_reason"] = _finish_reason(choice["finish_reason"])
        return raw
