"""The router stage and its compiled configs.

RouteTable holds the trees: the file's named configs and default config, compiled at start-up, and per-request
configs compiled on first sight and kept in a bounded LRU keyed by the hash of their canonical JSON, so nothing is
validated or merged again for a config seen before; the default-guardrail headers are compiled and kept alike.
RouterStage runs a call's tree (ctx.route); a stream is "primed" (its first chunk read) inside the tree, so retries
and fallbacks happen only before the first chunk.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import AsyncIterator, Mapping
from typing import Any

import orjson

from gateway_grpc.completions import Completion, CompletionRequest
from gateway_grpc.config import GatewaySettings, TargetConfig, validate_request_config
from gateway_grpc.errors import InvalidConfig
from gateway_grpc.guardrails.base import AFTER, BEFORE
from gateway_grpc.guardrails.hooks import HookSet
from gateway_grpc.media import (
    ImageRequest,
    ImageResponse,
    SpeechChunk,
    SpeechRequest,
    TranscriptionRequest,
    TranscriptionResponse,
)
from gateway_grpc.primed import drain, primed
from gateway_grpc.routing.nodes import Node
from gateway_grpc.routing.plan import Planner
from gateway_grpc.types import (
    CallContext,
    ChatChunk,
    ChatRequest,
    ChatResponse,
    EmbeddingsRequest,
    EmbeddingsResponse,
    ModelInfo,
    TextPart,
)

DEFAULT_INPUT_HEADER = "x-portkey-default-input-guardrails"
DEFAULT_OUTPUT_HEADER = "x-portkey-default-output-guardrails"


class RouteTable:
    """Every compiled tree the gateway routes by; `InvalidConfig` (naming the path) for a bad one."""

    def __init__(self, settings: GatewaySettings, planner: Planner) -> None:
        self._planner = planner
        self._named = {name: planner.compile(config, f"configs.{name}") for name, config in settings.configs.items()}
        default = settings.default_config
        self.default = planner.compile(default or TargetConfig(), "default_config")
        self._compiled: OrderedDict[bytes, Node] = OrderedDict()
        self._size = settings.routing.compiled_config_cache_size
        self._header_hooks: OrderedDict[tuple[str | None, str | None], HookSet] = OrderedDict()
        self._header_hooks_size = settings.guardrails.compiled_header_cache_size

    def named(self, config_id: str, field: str) -> Node:
        node = self._named.get(config_id)
        if node is None:
            raise InvalidConfig.field(
                field, f"{config_id!r} is neither a JSON config nor the id of a configured config")
        return node

    def from_json(self, text: str, field: str) -> Node:
        try:
            raw = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise InvalidConfig.field(field, f"not valid JSON ({exc})") from exc
        return self.from_mapping(raw, field)

    def from_mapping(self, raw: Any, field: str) -> Node:
        """The tree of a config object; compiled once per distinct canonical JSON."""
        if not isinstance(raw, dict):
            raise InvalidConfig.field(field, "must be a JSON object")
        digest = hashlib.blake2b(orjson.dumps(raw, option=orjson.OPT_SORT_KEYS), digest_size=16).digest()
        node = self._compiled.get(digest)
        if node is not None:
            self._compiled.move_to_end(digest)
            return node
        node = self._planner.compile(validate_request_config(raw, field), field)
        self._compiled[digest] = node
        if len(self._compiled) > self._size:
            self._compiled.popitem(last=False)
        return node

    def __len__(self) -> int:
        return len(self._compiled)

    def header_guardrails(self, headers: Mapping[str, str]) -> HookSet | None:
        """The x-portkey-default-input/output-guardrails headers' guardrails (shorthand JSON arrays, appended to
        every target's hooks); None without either header."""
        key = (headers.get(DEFAULT_INPUT_HEADER), headers.get(DEFAULT_OUTPUT_HEADER))
        if key == (None, None):
            return None
        hooks = self._header_hooks.get(key)
        if hooks is not None:
            self._header_hooks.move_to_end(key)
            return hooks
        hooks = HookSet(self._planner.header_hooks(key[0], BEFORE, DEFAULT_INPUT_HEADER),
                        self._planner.header_hooks(key[1], AFTER, DEFAULT_OUTPUT_HEADER))
        self._header_hooks[key] = hooks
        if len(self._header_hooks) > self._header_hooks_size:
            self._header_hooks.popitem(last=False)
        return hooks


# ---- the operations a tree routes ----------------------------------------------------------------------------------


def _message_view(message: Any) -> dict[str, Any]:
    content = message.content
    if isinstance(content, tuple):
        content = "".join(part.text for part in content if isinstance(part, TextPart))
    return {"role": message.role, "content": content}


class ChatOp:
    """A chat completion; `params()` is the body as conditional routing sees it (`params.*`)."""

    __slots__ = ("request",)
    stream = False
    cache_kind = "chat"  # what the response cache files its answers under (cache/target_cache.py)

    def __init__(self, request: ChatRequest) -> None:
        self.request = request

    def __call__(self, handler: Any, ctx: CallContext) -> Any:
        return handler.complete(self.request, ctx)

    def with_request(self, request: Any) -> Any:
        """The same call with another request (an input guardrail's transformation)."""
        return type(self)(request)

    def params(self) -> Mapping[str, Any]:
        request = self.request
        view: dict[str, Any] = {**request.extra, **request.params, "model": request.model, "stream": self.stream}
        view["messages"] = [_message_view(m) for m in request.messages]
        if request.response_format is not None:
            view["response_format"] = {"type": request.response_format.type}
        return view


class StreamOp(ChatOp):
    __slots__ = ()
    stream = True

    def __call__(self, handler: Any, ctx: CallContext) -> Any:
        return primed(handler.stream(self.request, ctx))


class EmbedOp:
    __slots__ = ("request",)
    stream = False
    cache_kind = "embeddings"

    def __init__(self, request: EmbeddingsRequest) -> None:
        self.request = request

    def __call__(self, handler: Any, ctx: CallContext) -> Any:
        return handler.embed(self.request, ctx)

    def with_request(self, request: Any) -> Any:
        return EmbedOp(request)

    def params(self) -> Mapping[str, Any]:
        request = self.request
        view: dict[str, Any] = {**request.extra, "model": request.model, "input": list(request.inputs)}
        if request.dimensions is not None:
            view["dimensions"] = request.dimensions
        if request.user:
            view["user"] = request.user
        return view


class MediaOp:
    """A text completion, image, speech or transcription call: the handler method to run, and its request for
    `params.*`."""

    __slots__ = ("cache_kind", "method", "request", "stream")

    def __init__(self, method: str, request: Any, streamed: bool = False, cache_kind: str | None = None) -> None:
        self.method = method
        self.request = request
        self.stream = streamed
        self.cache_kind = cache_kind  # text completions are cached; images and audio are not

    def __call__(self, handler: Any, ctx: CallContext) -> Any:
        result = getattr(handler, self.method)(self.request, ctx)
        return primed(result) if self.stream else result

    def with_request(self, request: Any) -> Any:
        return MediaOp(self.method, request, self.stream, self.cache_kind)

    def params(self) -> Mapping[str, Any]:
        fields = {name: getattr(self.request, name) for name in ("model", "prompt", "input", "voice", "filename")
                  if hasattr(self.request, name)}
        return {**self.request.extra, **self.request.params, **fields}


class ModelsOp:
    __slots__ = ()
    request = None
    stream = False
    cache_kind = None

    def __call__(self, handler: Any, ctx: CallContext) -> Any:
        return handler.list_models(ctx)

    def params(self) -> Mapping[str, Any]:
        return {}


class RouterStage:
    """The pipeline's router: runs each call through its compiled tree (ctx.route)."""

    async def complete(self, request: ChatRequest, ctx: CallContext) -> ChatResponse:
        return await ctx.route.run(ChatOp(request), ctx)

    async def stream(self, request: ChatRequest, ctx: CallContext) -> AsyncIterator[ChatChunk]:
        async for chunk in drain(await ctx.route.run(StreamOp(request), ctx)):
            yield chunk

    async def complete_text(self, request: CompletionRequest, ctx: CallContext) -> Completion:
        return await ctx.route.run(MediaOp("complete_text", request, cache_kind="completions"), ctx)

    async def stream_text(self, request: CompletionRequest, ctx: CallContext) -> AsyncIterator[Completion]:
        op = MediaOp("stream_text", request, streamed=True, cache_kind="completions")
        async for chunk in drain(await ctx.route.run(op, ctx)):
            yield chunk

    async def embed(self, request: EmbeddingsRequest, ctx: CallContext) -> EmbeddingsResponse:
        return await ctx.route.run(EmbedOp(request), ctx)

    async def list_models(self, ctx: CallContext) -> list[ModelInfo]:
        return await ctx.route.run(ModelsOp(), ctx)

    async def generate_images(self, request: ImageRequest, ctx: CallContext) -> ImageResponse:
        return await ctx.route.run(MediaOp("generate_images", request), ctx)

    async def speak(self, request: SpeechRequest, ctx: CallContext) -> AsyncIterator[SpeechChunk]:
        async for chunk in drain(await ctx.route.run(MediaOp("speak", request, streamed=True), ctx)):
            yield chunk

    async def transcribe(self, request: TranscriptionRequest, ctx: CallContext) -> TranscriptionResponse:
        return await ctx.route.run(MediaOp("transcribe", request), ctx)
