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
- Text completions are Mistral's fill-in-the-middle (`/v1/fim/completions`, e.g. codestral): `/v1/completions` to
  mistral-ai always goes there (Mistral has no other text completion API), so Portkey's
  `x-portkey-mistral-fim-completion` header is accepted and changes nothing. FIM takes one string prompt, `suffix`,
  `max_tokens`, `min_tokens`, `temperature`, `top_p`, `stop` and `random_seed` (OpenAI's `seed`); `n`, `echo`,
  `logprobs`, `best_of`, `logit_bias`, `user` and the penalties are a 400. It answers in chat's shape (`message` /
  `delta` content), read back as text choices.
"""

from __future__ import annotations

import hashlib
import re
import string
from dataclasses import dataclass
from typing import Any, ClassVar

from gateway_grpc.errors import InvalidRequest, ProviderRejected
from gateway_grpc.providers.openai import OpenAI
from gateway_grpc.providers.openai_dialect import COMPLETIONS, Dialect, adapt_chat_body, adapt_completion_body

MISTRAL_DIALECT = Dialect(
    rejects=frozenset({"logprobs", "top_logprobs", "logit_bias", "user", "service_tier", "store", "metadata",
                       "reasoning_effort"}),
    renames=(("max_completion_tokens", "max_tokens"), ("seed", "random_seed")),
    stream_options=False,
    embedding_renames=(("dimensions", "output_dimension"),),
)
FIM_DIALECT = Dialect(
    rejects=frozenset({"n", "echo", "logprobs", "best_of", "logit_bias", "user", "presence_penalty",
                       "frequency_penalty"}),
    renames=(("seed", "random_seed"),),
    stream_options=False,
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

    # ---- fill-in-the-middle ----

    _completion_path: ClassVar[str] = "/fim/completions"

    def supports(self, capability: str) -> bool:
        return capability == COMPLETIONS or capability in self.dialect.media  # FIM, and no media

    def _adapt_completion(self, body: dict[str, Any]) -> None:
        if not isinstance(body.get("prompt"), str):
            raise InvalidRequest.field("prompt", f"{self.name} takes one prompt string, not a list")
        adapt_completion_body(body, FIM_DIALECT, self.name)

    def _received_text(self, raw: Any) -> Any:
        """A FIM answer or chunk (chat-shaped: `message` / `delta` content) as an OpenAI text completion."""
        raw = self._received(raw)
        for choice in raw["choices"]:
            said = choice.pop("message", None) or choice.pop("delta", None) or {}
            content = said.get("content")
            choice["text"] = content if isinstance(content, str) else ""
        return {**raw, "object": "text_completion"}
