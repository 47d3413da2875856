"""Provider-neutral request and response types that policies and providers see (never protobuf, never HTTP).

Frozen, slotted dataclasses. Field names follow OpenAI's Chat Completions vocabulary, the lingua franca of the
gateway's callers; providers translate from and to them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


class _EmptyMapping(Mapping[str, Any]):
    """Immutable and hashable: the shared default for optional mappings of frozen dataclasses."""

    __slots__ = ()

    def __getitem__(self, key: str) -> Any:
        raise KeyError(key)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(())

    def __len__(self) -> int:
        return 0

    def __hash__(self) -> int:
        return 0

    def __repr__(self) -> str:
        return "EMPTY"


EMPTY: Mapping[str, Any] = _EmptyMapping()

ROLES = ("system", "developer", "user", "assistant", "tool", "function")
FINISH_REASONS = ("stop", "length", "tool_calls", "content_filter", "function_call")
# Request parameters carried in ChatRequest.params under their OpenAI names (only those the caller set).
CHAT_PARAMS = (
    "temperature", "top_p", "max_tokens", "max_completion_tokens", "n", "stop", "presence_penalty",
    "frequency_penalty", "seed", "logprobs", "top_logprobs", "logit_bias", "user", "parallel_tool_calls",
    "reasoning_effort", "service_tier", "store", "metadata",
)


@dataclass(frozen=True, slots=True)
class TextPart:
    text: str
    extra: Mapping[str, Any] = EMPTY  # part keys the gateway does not model (e.g. `cache_control`), verbatim


@dataclass(frozen=True, slots=True)
class ImagePart:
    """An image by URL (http(s) or data:) or by bytes with their media type."""

    url: str = ""
    data: bytes = b""
    media_type: str = ""
    detail: str = ""
    extra: Mapping[str, Any] = EMPTY


@dataclass(frozen=True, slots=True)
class AudioPart:
    data: bytes
    format: str
    extra: Mapping[str, Any] = EMPTY


@dataclass(frozen=True, slots=True)
class FilePart:
    file_id: str = ""
    url: str = ""
    data: bytes = b""
    filename: str = ""
    media_type: str = ""
    extra: Mapping[str, Any] = EMPTY


@dataclass(frozen=True, slots=True)
class OtherPart:
    """A content part the gateway does not model: its OpenAI JSON object, verbatim."""

    value: Mapping[str, Any]


Part = TextPart | ImagePart | AudioPart | FilePart | OtherPart


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A function call (`name`, `arguments`) or, with another `type`, a call whose body is in `extra`."""

    id: str
    name: str
    arguments: str
    type: str = "function"
    extra: Mapping[str, Any] = EMPTY  # e.g. `custom`, Gemini's `extra_content`


@dataclass(frozen=True, slots=True)
class Message:
    """One conversation turn. `content` is a string, a tuple of parts, or None (e.g. an assistant tool call)."""

    role: str
    content: str | tuple[Part, ...] | None = None
    name: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str = ""
    refusal: str | None = None
    reasoning_content: str | None = None
    extra: Mapping[str, Any] = EMPTY


@dataclass(frozen=True, slots=True)
class FunctionTool:
    name: str
    description: str = ""
    parameters: Mapping[str, Any] | None = None
    strict: bool | None = None


@dataclass(frozen=True, slots=True)
class OtherTool:
    """A tool type the gateway does not model: its OpenAI JSON object, verbatim."""

    value: Mapping[str, Any]


Tool = FunctionTool | OtherTool


@dataclass(frozen=True, slots=True)
class ToolChoice:
    """Exactly one of: a mode ("none", "auto", "required"), a forced function, or another OpenAI object."""

    mode: str = ""
    function_name: str = ""
    other: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class JsonSchemaFormat:
    name: str
    schema: Mapping[str, Any] | None = None
    description: str = ""
    strict: bool | None = None


@dataclass(frozen=True, slots=True)
class ResponseFormat:
    type: str  # "text", "json_object", "json_schema", or another host's type (e.g. vLLM's "grammar")
    json_schema: JsonSchemaFormat | None = None
    extra: Mapping[str, Any] = EMPTY  # the keys besides `type` and a typed `json_schema`, verbatim


@dataclass(frozen=True, slots=True)
class ChatRequest:
    model: str
    messages: tuple[Message, ...]
    tools: tuple[Tool, ...] = ()
    tool_choice: ToolChoice | None = None
    response_format: ResponseFormat | None = None
    params: Mapping[str, Any] = EMPTY
    extra: Mapping[str, Any] = EMPTY
    include_usage: bool = False
    stream_extra: Mapping[str, Any] = EMPTY  # `stream_options` keys the gateway does not model


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cached_tokens: int | None = None
    prompt_audio_tokens: int | None = None
    reasoning_tokens: int | None = None
    completion_audio_tokens: int | None = None
    accepted_prediction_tokens: int | None = None
    rejected_prediction_tokens: int | None = None
    cache_creation_tokens: int | None = None


@dataclass(frozen=True, slots=True)
class Choice:
    index: int
    message: Message
    finish_reason: str | None = None
    logprobs: Mapping[str, Any] | None = None  # OpenAI's logprobs object
    extra: Mapping[str, Any] = EMPTY  # e.g. Azure's `content_filter_results`


@dataclass(frozen=True, slots=True)
class ChatResponse:
    id: str
    created: int
    model: str
    choices: tuple[Choice, ...]
    usage: Usage | None = None
    system_fingerprint: str = ""
    service_tier: str = ""
    extra: Mapping[str, Any] = EMPTY


@dataclass(frozen=True, slots=True)
class ToolCallDelta:
    index: int
    id: str = ""
    type: str = ""
    name: str = ""
    arguments: str = ""
    extra: Mapping[str, Any] = EMPTY


@dataclass(frozen=True, slots=True)
class Delta:
    role: str | None = None
    content: str | None = None
    tool_calls: tuple[ToolCallDelta, ...] = ()
    refusal: str | None = None
    reasoning_content: str | None = None
    extra: Mapping[str, Any] = EMPTY  # e.g. `audio`, `annotations`, legacy `function_call`


@dataclass(frozen=True, slots=True)
class ChunkChoice:
    index: int
    delta: Delta
    finish_reason: str | None = None
    logprobs: Mapping[str, Any] | None = None
    extra: Mapping[str, Any] = EMPTY


@dataclass(frozen=True, slots=True)
class ChatChunk:
    id: str
    created: int
    model: str
    choices: tuple[ChunkChoice, ...] = ()
    usage: Usage | None = None
    system_fingerprint: str = ""
    service_tier: str = ""
    extra: Mapping[str, Any] = EMPTY


@dataclass(frozen=True, slots=True)
class EmbeddingsRequest:
    """Text inputs or token-id inputs (one of the two is non-empty)."""

    model: str
    inputs: tuple[str, ...] = ()
    token_inputs: tuple[tuple[int, ...], ...] = ()
    dimensions: int | None = None
    user: str = ""
    extra: Mapping[str, Any] = EMPTY


@dataclass(frozen=True, slots=True)
class EmbeddingsResponse:
    model: str
    vectors: tuple[Sequence[float], ...]
    usage: Usage | None = None


@dataclass(frozen=True, slots=True)
class ModelInfo:
    id: str
    created: int = 0
    owned_by: str = ""


@dataclass(frozen=True, slots=True)
class Target:
    """One upstream to call: a provider slug plus what the call needs. Built by the router, read by providers."""

    provider: str
    api_key: str = field(default="", repr=False)
    base_url: str = ""  # custom host, already SSRF-checked; empty means the provider's default
    override_params: Mapping[str, Any] = EMPTY
    provider_options: Mapping[str, str] = field(default=EMPTY, repr=False)  # may hold credentials (aws_*, ...)
    forward_headers: Mapping[str, str] = field(default=EMPTY, repr=False)  # header name -> value, sent as is


@dataclass(frozen=True, slots=True)
class CallerInputs:
    """What the caller's headers / RequestOptions say about the upstream, used where a config leaves it open."""

    provider: str = ""
    api_key: str = field(default="", repr=False)
    base_url: str = ""  # x-portkey-custom-host, already SSRF-checked
    forward_headers: tuple[str, ...] = ()  # names (lower case)
    provider_options: Mapping[str, str] = field(default=EMPTY, repr=False)  # from Portkey's provider headers
    timeout_ms: int | None = None  # x-portkey-request-timeout: overrides every target's request_timeout
    strict_open_ai_compliance: bool | None = None
    headers: Mapping[str, str] = field(default=EMPTY, repr=False)  # the call's metadata, lower-case keys
    guardrails: Any = None  # guardrails.hooks.HookSet of x-portkey-default-*-guardrails, appended to every target's


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    """One upstream attempt: which target, how it ended (200 on success), and how long it took."""

    path: str
    provider: str
    status: int
    reason: str = ""
    message: str = ""
    retry: int = 0
    duration_ms: float = 0.0


class RouteLog:
    """What the router did for one call (mutable, per call): every attempt, and the target that answered last."""

    __slots__ = ("attempts", "cache_status", "guardrails", "path", "provider", "retries")

    def __init__(self) -> None:
        self.attempts: list[AttemptRecord] = []
        self.path = ""  # Portkey's last-used-option-index, e.g. "config.targets[1]"
        self.provider = ""
        self.retries = 0  # Portkey contract §3: -1 when retrying stopped with a still-retryable failure
        self.cache_status = ""  # x-portkey-cache-status of the target that answered (cache/target_cache.py)
        self.guardrails: Any = None  # guardrails.results.GuardrailReport of that target, when it has hooks


@dataclass(slots=True)
class CallContext:
    """Per-call facts every stage may read. Never part of a cache key; never a contextvar.

    The router copies it per attempt (`dataclasses.replace`), setting `target` and the attempt's time limits; the
    copies share `log` and `response_headers`.
    """

    trace_id: str
    deadline: float | None = None  # the whole call (the gRPC caller's deadline), event-loop seconds; None: no limit
    metadata: Mapping[str, Any] = EMPTY
    target: Target | None = None
    strict_open_ai_compliance: bool = True
    cache_force_refresh: bool = False
    response_headers: dict[str, str] = field(default_factory=dict)
    caller: CallerInputs = field(default_factory=CallerInputs)
    route: Any = None  # the compiled routing tree (routing.nodes.Node); Any keeps types.py free of routing imports
    request_path: str = ""  # the OpenAI REST path of the call (conditional routing's `url.pathname`)
    log: RouteLog = field(default_factory=RouteLog)
    attempt_timeout: float | None = None  # seconds to the first byte, and between stream chunks, per attempt
    attempt_deadline: float | None = None  # this attempt's first-byte deadline (already capped by `deadline`)

    def for_target(self, target: Target, attempt_timeout: float | None, strict: bool) -> CallContext:
        """The copy a routing leaf hands down (`dataclasses.replace` costs ~5 us on this hot path; this ~1 us)."""
        return CallContext(self.trace_id, self.deadline, self.metadata, target, strict, self.cache_force_refresh,
                           self.response_headers, self.caller, self.route, self.request_path, self.log,
                           attempt_timeout, self.attempt_deadline)

    def armed(self, attempt_deadline: float | None) -> CallContext:
        """The copy for one try of a target, with its first-byte deadline."""
        return CallContext(self.trace_id, self.deadline, self.metadata, self.target, self.strict_open_ai_compliance,
                           self.cache_force_refresh, self.response_headers, self.caller, self.route,
                           self.request_path, self.log, self.attempt_timeout, attempt_deadline)
