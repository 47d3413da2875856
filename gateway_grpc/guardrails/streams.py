"""Output hooks on a streamed answer, per hook `stream_mode` (closing the reference's blind spot, contract §13 #13):

- `buffer` (the default): the stream is held until the whole answer has passed, then released, so a denial is an
  ordinary 446 before the first byte (retries and fallbacks still apply) and transformers (redaction) edit the
  answer before anyone sees it. A stream with any buffered hook is judged whole by all its hooks.
- `window`: every chunk is checked before it is passed on, over its new text plus the `stream_window` characters
  before it (so a match split across chunks is still seen); a denial cuts the stream with an in-band 446 error and
  the offending chunk is never sent.
- `final`: the stream flows untouched; the complete text is checked at the end and reported in a trailing event
  (a denial then arrives as the in-band error that ends the stream).
Async hooks see the complete text at the end, off the critical path. Windowed and final results are reported at the
end of the stream (`report.trailing`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

from gateway_grpc.cache import replay
from gateway_grpc.guardrails.base import AFTER
from gateway_grpc.guardrails.hooks import Hook
from gateway_grpc.guardrails.results import HookResult
from gateway_grpc.guardrails.runner import HookRunner
from gateway_grpc.guardrails.subjects import raise_if_denied, subject_of
from gateway_grpc.primed import PrimedStream, primed_items
from gateway_grpc.types import CallContext, ChatChunk


def chunk_text(chunk: Any) -> str:
    """The first choice's new text in a chat or text-completion chunk."""
    for choice in chunk.choices:
        if choice.index == 0:
            if isinstance(chunk, ChatChunk):
                return choice.delta.content or ""
            return choice.text
    return ""


async def judged(runner: HookRunner, hooks: Sequence[Hook], op: Any, stream: PrimedStream,
                 ctx: CallContext) -> PrimedStream:
    if any(hook.stream_mode == "buffer" and not hook.is_async for hook in hooks):
        return await _buffered(runner, hooks, op, stream, ctx)
    watch = _Watch(runner, hooks, op, ctx)
    if stream.first is not None:
        try:
            await watch.feed(stream.first)
        except BaseException:
            await stream.rest.aclose()
            raise
    return PrimedStream(stream.first, watch.rest(stream))


async def _buffered(runner: HookRunner, hooks: Sequence[Hook], op: Any, stream: PrimedStream,
                    ctx: CallContext) -> PrimedStream:
    chunks = [stream.first] if stream.first is not None else []
    try:
        async for chunk in stream.rest:
            chunks.append(chunk)
    finally:
        await stream.rest.aclose()
    answer = replay.ASSEMBLE[op.cache_kind](chunks)
    if answer is None:
        return primed_items(chunks)
    report = ctx.log.guardrails
    results, subject = await runner.run(hooks, subject_of(AFTER, op, answer, ctx))
    report.after = results
    raise_if_denied(results, report, ctx)
    if subject.response is not answer:
        chunks = replay.REPLAY[op.cache_kind](subject.response, op.request.include_usage)
    return primed_items(chunks)


class _Watch:
    """One stream's windowed and final checks: `feed` each chunk before it is passed on, `finish` at the end."""

    def __init__(self, runner: HookRunner, hooks: Sequence[Hook], op: Any, ctx: CallContext) -> None:
        self._runner, self._op, self._ctx = runner, op, ctx
        self._window = [hook for hook in hooks if hook.stream_mode == "window" and not hook.is_async]
        self._final = [hook for hook in hooks if hook.stream_mode == "final" or hook.is_async]
        self._reach = max((hook.stream_window for hook in self._window), default=0)
        self._tail = ""  # the last `_reach` characters already checked
        self._window_results: dict[str, HookResult] = {}  # per hook: its first failure, else its latest pass
        self._chunks: list[Any] = []

    async def feed(self, chunk: Any) -> None:
        if self._final:
            self._chunks.append(chunk)  # kept only when the whole text is judged at the end
        piece = chunk_text(chunk) if self._window else ""
        if not piece:
            return
        for hook in self._window:
            text = (self._tail[-hook.stream_window:] if hook.stream_window else "") + piece
            results, _ = await self._runner.run((hook,), subject_of(AFTER, self._op, None, self._ctx, text))
            self._keep(results[0])
        self._tail = (self._tail + piece)[-self._reach:] if self._reach else ""

    def _keep(self, result: HookResult) -> None:
        earlier = self._window_results.get(result.id)
        if earlier is None or earlier.verdict:
            self._window_results[result.id] = result
        if result.denied:
            self._report([])
            raise_if_denied([result], self._ctx.log.guardrails, self._ctx)

    def _report(self, final: list[HookResult]) -> None:
        report = self._ctx.log.guardrails
        report.after = [*self._window_results.values(), *final]
        report.trailing = bool(report.after)  # async hooks alone report nothing here (logs and metrics only)

    async def finish(self) -> None:
        answer = replay.ASSEMBLE[self._op.cache_kind](self._chunks) if self._final else None
        final: list[HookResult] = []
        if answer is not None:
            final, _ = await self._runner.run(self._final, subject_of(AFTER, self._op, answer, self._ctx))
        self._report(final)
        raise_if_denied(final, self._ctx.log.guardrails, self._ctx)

    async def rest(self, stream: PrimedStream) -> AsyncIterator[Any]:
        try:
            async for chunk in stream.rest:
                await self.feed(chunk)
                yield chunk
            await self.finish()
        finally:
            await stream.rest.aclose()
