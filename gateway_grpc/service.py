"""GatewayService: proto -> neutral -> pipeline -> proto. The only caller of context.abort; maps GatewayError to
gRPC status + google.rpc details through one table (docs/architecture.md §Errors)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
import orjson
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2

from gateway_grpc import convert, convert_completions, convert_guardrails, convert_media, convert_options
from gateway_grpc import errors as e
from gateway_grpc.pipeline import Handler
from gateway_grpc.request_context import RequestContextBuilder, usable_trace_id
from gateway_grpc.types import CallContext
from gateway_grpc.v1 import (
    chat_pb2,
    completions_pb2,
    embeddings_pb2,
    gateway_service_pb2_grpc,
    media_pb2,
    models_pb2,
)

log = logging.getLogger("gateway_grpc.service")
# The OpenAI REST path of each RPC: conditional routing's `url.pathname`, the same over gRPC and REST.
CHAT_PATH, EMBEDDINGS_PATH, MODELS_PATH = "/v1/chat/completions", "/v1/embeddings", "/v1/models"
COMPLETIONS_PATH = "/v1/completions"
IMAGES_PATH, SPEECH_PATH = "/v1/images/generations", "/v1/audio/speech"
TRANSCRIPTIONS_PATH, TRANSLATIONS_PATH = "/v1/audio/transcriptions", "/v1/audio/translations"
DOMAIN = "gateway-grpc"
SC = grpc.StatusCode

# GatewayError subclass -> gRPC code. ProviderRejected and the base ProviderError take the code of the upstream
# status instead (UPSTREAM_STATUS_CODES). Most specific class first.
ERROR_CODES: tuple[tuple[type[e.GatewayError], grpc.StatusCode], ...] = (
    (e.InvalidRequest, SC.INVALID_ARGUMENT),
    (e.GuardrailDenied, SC.FAILED_PRECONDITION),
    (e.NotImplementedYet, SC.UNIMPLEMENTED),
    (e.RateLimited, SC.RESOURCE_EXHAUSTED),
    (e.ProviderTimeout, SC.DEADLINE_EXCEEDED),
    (e.ProviderUnavailable, SC.UNAVAILABLE),
    (e.CircuitOpen, SC.UNAVAILABLE),
    (e.ProviderBadResponse, SC.UNKNOWN),
    (e.GatewayError, SC.INTERNAL),
)
UPSTREAM_STATUS_CODES = {
    400: SC.INVALID_ARGUMENT, 401: SC.UNAUTHENTICATED, 403: SC.PERMISSION_DENIED, 404: SC.NOT_FOUND,
    408: SC.DEADLINE_EXCEEDED, 409: SC.ABORTED, 413: SC.INVALID_ARGUMENT, 422: SC.INVALID_ARGUMENT,
    429: SC.RESOURCE_EXHAUSTED, 499: SC.CANCELLED, 501: SC.UNIMPLEMENTED,
}


def grpc_code(error: e.GatewayError) -> grpc.StatusCode:
    if type(error) in (e.ProviderRejected, e.ProviderError):
        status = error.status  # type: ignore[attr-defined]
        return UPSTREAM_STATUS_CODES.get(status, SC.UNAVAILABLE if status >= 500 else SC.INVALID_ARGUMENT)
    return next(code for kind, code in ERROR_CODES if isinstance(error, kind))


def _error_metadata(error: e.GatewayError) -> dict[str, str]:
    if not isinstance(error, e.ProviderError):
        return {}
    fields = {"upstream_status": str(error.status) if error.status else "", "type": error.error_type,
              "param": error.param, "code": error.code, "provider": error.provider,
              "details": orjson.dumps(error.details).decode() if error.details else ""}
    return {key: value for key, value in fields.items() if value}


def status_proto(error: e.GatewayError, code: grpc.StatusCode, ctx: CallContext | None = None) -> status_pb2.Status:
    """The google.rpc.Status: ErrorInfo, BadRequest for field violations, and the RoutingSummary once routing ran."""
    details: list[Any] = [error_details_pb2.ErrorInfo(reason=error.reason, domain=DOMAIN,
                                                      metadata=_error_metadata(error))]
    violations = getattr(error, "violations", ())
    if violations:
        details.append(error_details_pb2.BadRequest(field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.description) for v in violations
        ]))
    if isinstance(error, e.ProviderError) and error.retry_after is not None:  # what the upstream asked callers to wait
        retry = error_details_pb2.RetryInfo()
        retry.retry_delay.FromMilliseconds(round(error.retry_after * 1000))
        details.append(retry)
    if ctx is not None and ctx.log.path:
        details.append(convert_options.routing_summary(ctx.log))
    if isinstance(error, e.GuardrailDenied):
        details.append(convert_guardrails.guardrail_report(error.report))
    packed = []
    for detail in details:
        holder = any_pb2.Any()
        holder.Pack(detail)
        packed.append(holder)
    return status_pb2.Status(code=code.value[0], message=error.message, details=packed)


def stream_error(error: e.GatewayError) -> chat_pb2.StreamError:
    """The in-band event that ends a stream which already sent chunks."""
    meta = _error_metadata(error)
    code = grpc_code(error)
    http_status = error.http_status if isinstance(error, e.ProviderError) else 0  # as on a unary call
    message = chat_pb2.StreamError(
        code=code.value[0], http_status=http_status, message=error.message,
        type=meta.get("type", ""), param=meta.get("param", ""), error_code=meta.get("code", ""), reason=error.reason,
        provider=meta.get("provider", ""),
    )
    if isinstance(error, e.GuardrailDenied):
        message.hook_results.CopyFrom(convert_guardrails.guardrail_report(error.report))
    return message


def _with_hook_results(message: Any, ctx: CallContext) -> None:
    """Portkey's hook_results on an answer (or a stream's first message), when any guardrail ran."""
    report = ctx.log.guardrails
    if report is not None and report.ran and hasattr(message, "hook_results"):
        message.hook_results.CopyFrom(convert_guardrails.guardrail_report(report))


class _AbortStatus(grpc.Status):
    def __init__(self, code: grpc.StatusCode, details: str, trailing_metadata: tuple[tuple[str, Any], ...]) -> None:
        self.code, self.details, self.trailing_metadata = code, details, trailing_metadata


def _response_headers(ctx: CallContext | None) -> tuple[tuple[str, str], ...]:
    """Portkey's response headers (contract §3) as metadata; the routing ones once a target was tried."""
    if ctx is None:
        return ()
    headers = {"x-portkey-trace-id": ctx.trace_id, **ctx.response_headers}
    log = ctx.log
    if log.path:
        headers["x-portkey-provider"] = log.provider
        headers["x-portkey-last-used-option-index"] = log.path
        headers["x-portkey-retry-attempt-count"] = str(log.retries)
    return tuple(headers.items())


async def _opening(context: grpc.aio.ServicerContext, ctx: CallContext, message: Any) -> bool:
    """Before a stream's first message: the x-portkey-* headers as initial metadata; the message gets the routing
    summary. True, for the caller's `started` flag."""
    await context.send_initial_metadata(_response_headers(ctx))
    message.routing.CopyFrom(convert_options.routing_summary(ctx.log))
    _with_hook_results(message, ctx)
    return True


def _early_headers(context: grpc.aio.ServicerContext) -> tuple[tuple[str, str], ...]:
    """The trace id of a call that failed before its context was built: the caller's, if usable, else a new one."""
    given = next((v for k, v in context.invocation_metadata() or () if k == "x-portkey-trace-id"), "")
    return (("x-portkey-trace-id", usable_trace_id(given if isinstance(given, str) else "")),)


class GatewayService(gateway_service_pb2_grpc.GatewayServiceServicer):
    def __init__(self, pipeline: Handler, contexts: RequestContextBuilder) -> None:
        self._pipeline = pipeline
        self._contexts = contexts

    def _context(self, options: Any, context: grpc.aio.ServicerContext, path: str) -> CallContext:
        headers = {key: value for key, value in context.invocation_metadata() or () if isinstance(value, str)}
        remaining = context.time_remaining()
        return self._contexts.build(convert_options.call_options(options, headers), remaining,
                                    asyncio.get_running_loop().time(), path)

    async def _abort(self, context: grpc.aio.ServicerContext, error: Exception, ctx: CallContext | None) -> None:
        if not isinstance(error, e.GatewayError):
            trace = ctx.trace_id if ctx else "-"
            log.error("internal error (trace id %s)", trace, exc_info=error)
            error = e.GatewayError(f"internal gateway error (trace id {trace})")
        else:
            log.info("request failed: reason=%s code=%s trace=%s", error.reason, grpc_code(error).name,
                     ctx.trace_id if ctx else "-")
        code = grpc_code(error)
        status = status_proto(error, code, ctx)
        headers = _response_headers(ctx) if ctx is not None else _early_headers(context)
        trailing = (("grpc-status-details-bin", status.SerializeToString()), *headers)
        await context.abort_with_status(_AbortStatus(code, error.message, trailing))

    async def _unary(self, request: Any, context: grpc.aio.ServicerContext, path: str,
                     run: Callable[[CallContext], Any]) -> Any:
        ctx = None
        try:
            ctx = self._context(request.options, context, path)
            response = await run(ctx)
            if hasattr(response, "routing"):  # every answer but the model list says how it was routed
                response.routing.CopyFrom(convert_options.routing_summary(ctx.log))
            _with_hook_results(response, ctx)
        except Exception as error:
            await self._abort(context, error, ctx)
        # Unary answers carry the x-portkey-* headers as trailing metadata: one write fewer than initial metadata.
        context.set_trailing_metadata(_response_headers(ctx))
        return response

    async def CreateChatCompletion(self, request: chat_pb2.CreateChatCompletionRequest,
                                   context: grpc.aio.ServicerContext) -> chat_pb2.CreateChatCompletionResponse:
        async def run(ctx: CallContext) -> chat_pb2.CreateChatCompletionResponse:
            answer = await self._pipeline.complete(convert.chat_request(request), ctx)
            return convert.chat_response(answer, ctx.log.provider)
        return await self._unary(request, context, CHAT_PATH, run)

    async def CreateCompletion(self, request: completions_pb2.CreateCompletionRequest,
                               context: grpc.aio.ServicerContext) -> completions_pb2.CreateCompletionResponse:
        async def run(ctx: CallContext) -> completions_pb2.CreateCompletionResponse:
            answer = await self._pipeline.complete_text(convert_completions.completion_request(request), ctx)
            return convert_completions.completion_response(answer, ctx.log.provider)
        return await self._unary(request, context, COMPLETIONS_PATH, run)

    async def CreateEmbeddings(self, request: embeddings_pb2.CreateEmbeddingsRequest,
                               context: grpc.aio.ServicerContext) -> embeddings_pb2.CreateEmbeddingsResponse:
        async def run(ctx: CallContext) -> embeddings_pb2.CreateEmbeddingsResponse:
            answer = await self._pipeline.embed(convert.embeddings_request(request), ctx)
            return convert.embeddings_response(answer, ctx.log.provider)
        return await self._unary(request, context, EMBEDDINGS_PATH, run)

    async def ListModels(self, request: models_pb2.ListModelsRequest,
                         context: grpc.aio.ServicerContext) -> models_pb2.ListModelsResponse:
        async def run(ctx: CallContext) -> models_pb2.ListModelsResponse:
            return convert.models_response(await self._pipeline.list_models(ctx), ctx.log.provider)
        return await self._unary(request, context, MODELS_PATH, run)

    async def CreateImage(self, request: media_pb2.CreateImageRequest,
                          context: grpc.aio.ServicerContext) -> media_pb2.CreateImageResponse:
        async def run(ctx: CallContext) -> media_pb2.CreateImageResponse:
            answer = await self._pipeline.generate_images(convert_media.image_request(request), ctx)
            return convert_media.image_response(answer, ctx.log.provider)
        return await self._unary(request, context, IMAGES_PATH, run)

    async def CreateTranscription(self, request: media_pb2.CreateTranscriptionRequest,
                                  context: grpc.aio.ServicerContext) -> media_pb2.CreateTranscriptionResponse:
        async def run(ctx: CallContext) -> media_pb2.CreateTranscriptionResponse:
            answer = await self._pipeline.transcribe(convert_media.transcription_request(request, False), ctx)
            return convert_media.transcription_response(answer, ctx.log.provider)
        return await self._unary(request, context, TRANSCRIPTIONS_PATH, run)

    async def CreateTranslation(self, request: media_pb2.CreateTranslationRequest,
                                context: grpc.aio.ServicerContext) -> media_pb2.CreateTranslationResponse:
        async def run(ctx: CallContext) -> media_pb2.CreateTranslationResponse:
            answer = await self._pipeline.transcribe(convert_media.transcription_request(request, True), ctx)
            return convert_media.translation_response(answer, ctx.log.provider)
        return await self._unary(request, context, TRANSLATIONS_PATH, run)

    async def CreateSpeech(self, request: media_pb2.CreateSpeechRequest,
                           context: grpc.aio.ServicerContext) -> AsyncIterator[media_pb2.CreateSpeechResponse]:
        """Audio passed through as it arrives; a failure ends the call with its status (before or after audio)."""
        ctx, started = None, False
        try:
            ctx = self._context(request.options, context, SPEECH_PATH)
            async for chunk in self._pipeline.speak(convert_media.speech_request(request), ctx):
                message = convert_media.speech_chunk(chunk, ctx.log.provider, first=not started)
                if not started:
                    started = await _opening(context, ctx, message)
                yield message
        except Exception as error:
            await self._abort(context, error, ctx)

    async def _chunks(self, options: Any, context: grpc.aio.ServicerContext, path: str,
                      run: Callable[[CallContext], AsyncIterator[Any]], message_of: Callable[[Any, str], Any],
                      response_type: Any) -> AsyncIterator[Any]:
        """A chunk stream: each chunk as `message_of` makes it; a failure before the first chunk ends the call with
        its status, one after it arrives in-band as the last message (`response_type(error=...)`)."""
        ctx, started = None, False
        try:
            ctx = self._context(options, context, path)
            async for chunk in run(ctx):
                message = message_of(chunk, ctx.log.provider)
                if not started:
                    started = await _opening(context, ctx, message)
                yield message
            report = ctx.log.guardrails
            if report is not None and report.trailing:  # output guardrails judged per window or at the end
                yield response_type(hook_results=convert_guardrails.guardrail_report(report))
        except Exception as error:
            if not started:
                await self._abort(context, error, ctx)
            gateway_error = error if isinstance(error, e.GatewayError) else e.GatewayError("internal gateway error")
            if not isinstance(error, e.GatewayError):
                log.error("internal error mid-stream (trace id %s)", ctx.trace_id if ctx else "-", exc_info=error)
            yield response_type(error=stream_error(gateway_error))

    async def StreamChatCompletion(
        self, request: chat_pb2.StreamChatCompletionRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[chat_pb2.StreamChatCompletionResponse]:
        def run(ctx: CallContext) -> AsyncIterator[Any]:
            return self._pipeline.stream(convert.chat_request(request.request), ctx)
        async for message in self._chunks(request.request.options, context, CHAT_PATH, run, convert.chat_chunk,
                                          chat_pb2.StreamChatCompletionResponse):
            yield message

    async def StreamCompletion(
        self, request: completions_pb2.StreamCompletionRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[completions_pb2.StreamCompletionResponse]:
        def run(ctx: CallContext) -> AsyncIterator[Any]:
            return self._pipeline.stream_text(convert_completions.completion_request(request.request), ctx)
        async for message in self._chunks(request.request.options, context, COMPLETIONS_PATH, run,
                                          convert_completions.completion_chunk,
                                          completions_pb2.StreamCompletionResponse):
            yield message
