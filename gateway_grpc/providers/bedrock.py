"""AWS Bedrock Runtime: Converse / ConverseStream for chat, InvokeModel for embeddings, SigV4-signed. Pure; no I/O.

Owns the credentials (target.provider_options `aws_*`), the endpoint (a charset-checked region, or the custom host;
model ids percent-encoded, contract §13 row 23), SigV4 signing through botocore with an injected clock, and error
decoding. Bodies: bedrock_converse, bedrock_messages, bedrock_embeddings; stream: bedrock_stream; framing: eventstream.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import quote

import orjson
from botocore.auth import SIGV4_TIMESTAMP, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from gateway_grpc.errors import InvalidRequest, ProviderBadResponse, ProviderError
from gateway_grpc.providers.base import HttpCall
from gateway_grpc.providers.bedrock_converse import aws_error, decode_converse, encode_converse, encode_extra
from gateway_grpc.providers.bedrock_embeddings import decode_embeddings_body, encode_embeddings_body, family
from gateway_grpc.providers.bedrock_stream import BedrockStreamDecoder
from gateway_grpc.providers.wire import loads_json, retry_after_seconds, text_or_empty
from gateway_grpc.types import (
    CHAT_PARAMS,
    ChatRequest,
    ChatResponse,
    EmbeddingsRequest,
    EmbeddingsResponse,
    ModelInfo,
    Target,
    Usage,
)

_JSON = "application/json"
_SIGNING_NAME = "bedrock"  # bedrock-runtime and the bedrock control plane both sign as "bedrock"
_DEFAULT_REGION = "us-east-1"
_REGION = re.compile(r"[a-z]{2}(?:-[a-z]+)+-\d{1,2}")  # us-east-1, us-gov-west-1, ap-southeast-3
_ROLE_OPTIONS = ("aws_role_arn", "aws_external_id")  # assuming a role needs an STS call: I/O a translator lacks


class _ClockedSigV4Auth(SigV4Auth):
    """botocore's SigV4, stamped from an injected clock (botocore's own add_auth reads the system clock)."""

    def __init__(self, credentials: Credentials, region: str, now: Callable[[], datetime]) -> None:
        super().__init__(credentials, _SIGNING_NAME, region)
        self._now = now

    def add_auth(self, request: AWSRequest) -> None:
        request.context["timestamp"] = self._now().strftime(SIGV4_TIMESTAMP)
        self._modify_request_before_signing(request)  # x-amz-date, x-amz-security-token
        canonical = self.canonical_request(request)
        self._inject_signature_to_request(request, self.signature(self.string_to_sign(request, canonical), request))


@dataclass(frozen=True, slots=True)
class AwsAccess:
    credentials: Credentials
    region: str


def aws_access(target: Target) -> AwsAccess:
    """Access keys and region from the target's provider options; InvalidRequest naming a missing or bad option."""
    options = target.provider_options
    for option in _ROLE_OPTIONS:
        if options.get(option):
            raise InvalidRequest.field(option, "bedrock does not support assumed roles; send access keys")
    if options.get("aws_auth_type", "accessKey") not in ("", "accessKey"):
        raise InvalidRequest.field("aws_auth_type", f"bedrock does not support {options['aws_auth_type']!r}")
    for option in ("aws_access_key_id", "aws_secret_access_key"):
        if not options.get(option):
            header = "x-portkey-" + option.replace("_", "-")
            raise InvalidRequest.field(option, f"required for bedrock (provider option or {header} header)")
    region = options.get("aws_region") or _DEFAULT_REGION
    if not _REGION.fullmatch(region):
        raise InvalidRequest.field("aws_region", f"not an AWS region name: {region[:64]!r}")
    token = options.get("aws_session_token") or None
    return AwsAccess(Credentials(options["aws_access_key_id"], options["aws_secret_access_key"], token), region)


def apply_overrides(request: ChatRequest, overrides: Mapping[str, Any]) -> tuple[ChatRequest, dict[str, Any]]:
    """Portkey's override_params, for a translating provider: `model` and OpenAI parameters replace the request's
    before translation; every other key reaches the Converse body as is (returned)."""
    if not overrides:
        return request, {}
    params = {key: value for key, value in overrides.items() if key in CHAT_PARAMS}
    rest = {key: value for key, value in overrides.items() if key not in CHAT_PARAMS and key != "model"}
    model = str(overrides.get("model") or request.model)
    return replace(request, model=model, params={**request.params, **params}), rest


def _new_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex}"


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Bedrock:
    """`Bedrock(now=..., new_id=...)`: `now` (UTC datetime) stamps signatures and `created`; `new_id` makes the chat
    ids Converse does not send. Both default to the system clock and random ids."""

    name = "bedrock"
    stream_framing: ClassVar[str] = "aws-eventstream"
    translated: ClassVar[bool] = True  # strict OpenAI compliance strips its extras (compliance.py)

    def __init__(self, now: Callable[[], datetime] | None = None, new_id: Callable[[], str] | None = None) -> None:
        self._now = now or _utc_now
        self._new_id = new_id or _new_id

    # ---- requests ----

    def _endpoint(self, target: Target, access: AwsAccess, host: str) -> str:
        return target.base_url.rstrip("/") if target.base_url else f"https://{host}.{access.region}.amazonaws.com"

    def _model_url(self, target: Target, access: AwsAccess, model: str, action: str) -> str:
        if not model or model in (".", ".."):
            raise InvalidRequest.field("model", "required: a Bedrock model id, inference profile or ARN")
        # quote(safe=""): `:` -> %3A and `/` (ARNs) -> %2F, as botocore's serializer does
        return f"{self._endpoint(target, access, 'bedrock-runtime')}/model/{quote(model, safe='')}/{action}"

    def _signed(self, target: Target, access: AwsAccess, url: str, body: bytes | None,
                headers: dict[str, str]) -> HttpCall:
        method = "GET" if body is None else "POST"
        request = AWSRequest(method=method, url=url, data=body or b"", headers={**headers, **target.forward_headers})
        _ClockedSigV4Auth(access.credentials, access.region, self._now).add_auth(request)
        return HttpCall(method, url, {name.lower(): value for name, value in request.headers.items()}, body)

    def encode_chat(self, request: ChatRequest, target: Target, *, stream: bool) -> HttpCall:
        access = aws_access(target)
        request, verbatim = apply_overrides(request, target.override_params)
        body = encode_converse(request)
        encode_extra(body, verbatim, strict=False)
        url = self._model_url(target, access, request.model, "converse-stream" if stream else "converse")
        return self._signed(target, access, url, orjson.dumps(body), {"content-type": _JSON})

    def embedding_batch_size(self, request: EmbeddingsRequest) -> int:
        """Titan embeds one text per InvokeModel call, Cohere up to 96: more are sent in batches by ProviderCall."""
        return 1 if family(request.model) == "titan" else 96

    def encode_embeddings(self, request: EmbeddingsRequest, target: Target) -> HttpCall:
        access = aws_access(target)
        overrides = target.override_params
        model = str(overrides.get("model") or request.model)
        body = encode_embeddings_body(request, model)
        body.update({key: value for key, value in overrides.items() if key != "model"})
        url = self._model_url(target, access, model, "invoke")
        return self._signed(target, access, url, orjson.dumps(body), {"content-type": _JSON, "accept": _JSON})

    def encode_list_models(self, target: Target) -> HttpCall:
        """ListFoundationModels, on the control-plane host (bedrock.<region>), or the custom host when set."""
        access = aws_access(target)
        url = f"{self._endpoint(target, access, 'bedrock')}/foundation-models"
        return self._signed(target, access, url, None, {"accept": _JSON})

    # ---- responses ----

    def _bad(self, body: bytes) -> ProviderBadResponse:
        return ProviderBadResponse(f"Invalid response received from {self.name}: {body[:200]!r}", provider=self.name)

    def decode_chat(self, body: bytes, request: ChatRequest | None = None,
                    target: Target | None = None) -> ChatResponse:
        """Converse sends neither an id, a timestamp nor the model: the id and `created` are made here, the model is
        the request's (after the target's override) when the caller passes them."""
        raw = loads_json(body, self.name)
        try:
            return decode_converse(raw, id_=self._new_id(), created=int(self._now().timestamp()),
                                   model=_model(request, target))
        except (KeyError, TypeError, AttributeError) as exc:
            raise self._bad(body) from exc

    def chat_stream_decoder(self, request: ChatRequest | None = None,
                            target: Target | None = None) -> BedrockStreamDecoder:
        """Usage comes as a final chunk only when `request.include_usage` (Converse always sends it)."""
        return BedrockStreamDecoder(self.name, id_=self._new_id(), created=int(self._now().timestamp()),
                                    model=_model(request, target),
                                    include_usage=request is not None and request.include_usage)

    def decode_embeddings(self, body: bytes, request: EmbeddingsRequest | None = None) -> EmbeddingsResponse:
        raw = loads_json(body, self.name)
        try:
            return decode_embeddings_body(raw, request.model if request is not None else "")
        except (KeyError, TypeError, AttributeError) as exc:
            raise self._bad(body) from exc

    def usage_from_headers(self, headers: Mapping[str, str]) -> Usage | None:
        """InvokeModel's billed input tokens, which Bedrock sends in a header (Cohere's body has none)."""
        tokens = text_or_empty(headers.get("x-amzn-bedrock-input-token-count"))
        return Usage(int(tokens), 0, int(tokens)) if tokens.isdecimal() else None

    def decode_list_models(self, body: bytes) -> list[ModelInfo]:
        raw = loads_json(body, self.name)
        try:
            return [ModelInfo(m["modelId"], 0, m.get("providerName") or "") for m in raw["modelSummaries"]]
        except (KeyError, TypeError, AttributeError) as exc:
            raise self._bad(body) from exc

    def decode_error(self, status: int, body: bytes, headers: Mapping[str, str]) -> ProviderError:
        """AWS JSON errors: the exception name from `x-amzn-errortype` (or `__type`), the text from `message`."""
        name = text_or_empty(headers.get("x-amzn-errortype")).partition(":")[0]
        try:
            raw = orjson.loads(body)
        except orjson.JSONDecodeError:
            raw = None
        if isinstance(raw, dict):
            message = text_or_empty(raw.get("message") or raw.get("Message"))
            name = name or text_or_empty(raw.get("__type")).rpartition("#")[2]
        else:  # a proxy's HTML or text page: keep the status, wrap the text (contract §13 row 19)
            message = body[:500].decode("utf-8", "replace").strip()
        return aws_error(self.name, name, status, message, retry_after_seconds(headers))


def _model(request: ChatRequest | None, target: Target | None) -> str:
    if request is None:
        return ""
    override = target.override_params.get("model") if target is not None else None
    return str(override or request.model)
