"""Output guardrails on streamed answers: buffer (held, then released or denied before the first byte), window
(each chunk checked with the text before it; a denial cuts the stream before the offending chunk) and final (the
whole text checked at the end, reported after the last chunk)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from gateway_grpc.errors import GuardrailDenied
from gateway_grpc.guardrails.base import AFTER, Services
from gateway_grpc.guardrails.hooks import HookCompiler, HookSet
from gateway_grpc.guardrails.results import GuardrailReport
from gateway_grpc.guardrails.runner import HookRunner
from gateway_grpc.guardrails.stage import TargetGuard
from gateway_grpc.primed import primed
from gateway_grpc.routing.router import StreamOp
from gateway_grpc.types import CallContext, ChatChunk, ChatRequest, ChunkChoice, Delta, Message, Target
from tests.gateway_grpc.guardrails import plugin_checks

COMPILER = HookCompiler({check.id: check for check in plugin_checks.CHECKS}, Services())
OP = StreamOp(ChatRequest("m", (Message("user", "hi"),)))


def chunk(text: str | None, finish: str | None = None, role: str | None = None) -> ChatChunk:
    return ChatChunk("c1", 1, "m", (ChunkChoice(0, Delta(role=role, content=text), finish),))


def chunks(*pieces: str) -> list[ChatChunk]:
    return [chunk("", role="assistant"), *(chunk(p) for p in pieces), chunk(None, "stop")]


class Upstream:
    def __init__(self, items: list[ChatChunk]) -> None:
        self.items, self.sent, self.closed = items, 0, False

    async def stream(self) -> AsyncIterator[ChatChunk]:
        try:
            for item in self.items:
                self.sent += 1
                yield item
        finally:
            self.closed = True


def context() -> CallContext:
    ctx = CallContext("t", target=Target("openai"))
    ctx.log.guardrails = GuardrailReport()
    return ctx


def hooks(**config: Any) -> HookSet:
    return HookSet((), COMPILER.shorthand([config], AFTER, "h"))


async def run(upstream: Upstream, hook_set: HookSet, ctx: CallContext) -> tuple[list[str], Exception | None]:
    """What the caller receives (content pieces), and the error that ended the stream, if any."""
    received: list[str] = []
    try:
        stream = await TargetGuard(HookRunner()).after(hook_set, OP, await primed(upstream.stream()), ctx)
        if stream.first is not None:
            received.append(stream.first.choices[0].delta.content or "")
        async for item in stream.rest:
            received.append(item.choices[0].delta.content or "")
    except GuardrailDenied as denied:
        return received, denied
    return received, None


FORBID = {"team.forbidden": {"word": "FORBIDDEN"}}


async def test_buffer_denies_before_the_first_chunk_and_closes_the_upstream() -> None:
    upstream, ctx = Upstream(chunks("alpha ", "FORBIDDEN ", "gamma")), context()
    received, error = await run(upstream, hooks(**FORBID, deny=True), ctx)
    assert received == [] and isinstance(error, GuardrailDenied) and error.http_status == 446
    assert upstream.closed and ctx.log.guardrails.after[0].verdict is False


async def test_buffer_releases_a_passing_stream_unchanged() -> None:
    upstream, ctx = Upstream(chunks("alpha ", "beta")), context()
    received, error = await run(upstream, hooks(**FORBID, deny=True), ctx)
    assert error is None and "".join(received) == "alpha beta"
    assert len(received) == 4 and ctx.log.guardrails.after[0].verdict is True
    assert not ctx.log.guardrails.trailing  # decided before the first byte: reported with it


async def test_buffer_replays_a_transformed_answer() -> None:
    received, error = await run(Upstream(chunks("alpha ", "beta")), hooks(**{"team.shout": {}}), context())
    assert error is None and "".join(received) == "ALPHA BETA"


async def test_window_cuts_the_stream_before_the_offending_chunk() -> None:
    upstream, ctx = Upstream(chunks("alpha ", "beta ", "FORBIDDEN ", "gamma")), context()
    received, error = await run(upstream, hooks(**FORBID, deny=True, stream_mode="window"), ctx)
    assert received == ["", "alpha ", "beta "] and isinstance(error, GuardrailDenied)
    assert upstream.sent == 4 and upstream.closed  # nothing read past the offending chunk
    assert ctx.log.guardrails.after[0].verdict is False


async def test_window_sees_a_word_split_across_chunks() -> None:
    received, error = await run(Upstream(chunks("alpha FORB", "IDDEN gamma")),
                                hooks(**FORBID, deny=True, stream_mode="window", stream_window=8), context())
    assert received == ["", "alpha FORB"] and isinstance(error, GuardrailDenied)


async def test_window_without_overlap_misses_a_split_word() -> None:
    received, error = await run(Upstream(chunks("alpha FORB", "IDDEN gamma")),
                                hooks(**FORBID, deny=True, stream_mode="window", stream_window=0), context())
    assert error is None and "".join(received) == "alpha FORBIDDEN gamma"


async def test_window_checks_the_first_chunk_before_the_stream_starts() -> None:
    upstream = Upstream([chunk("FORBIDDEN at once", role="assistant"), chunk(None, "stop")])
    received, error = await run(upstream, hooks(**FORBID, deny=True, stream_mode="window"), context())
    assert received == [] and isinstance(error, GuardrailDenied)


async def test_window_failure_without_deny_is_reported_at_the_end() -> None:
    ctx = context()
    received, error = await run(Upstream(chunks("alpha ", "FORBIDDEN ", "gamma ", "delta")),
                                hooks(**FORBID, stream_mode="window", id="w"), ctx)
    assert error is None and "".join(received) == "alpha FORBIDDEN gamma delta"
    (result,) = ctx.log.guardrails.after
    assert (result.id, result.verdict) == ("w", False)  # the first failure is kept, not a later pass
    assert ctx.log.guardrails.trailing and ctx.log.guardrails.output_failed


async def test_final_lets_the_stream_through_and_denies_at_the_end() -> None:
    ctx = context()
    received, error = await run(Upstream(chunks("alpha ", "FORBIDDEN ", "gamma")),
                                hooks(**FORBID, deny=True, stream_mode="final"), ctx)
    assert "".join(received) == "alpha FORBIDDEN gamma" and isinstance(error, GuardrailDenied)
    assert ctx.log.guardrails.trailing


async def test_final_reports_the_whole_text() -> None:
    ctx = context()
    received, error = await run(Upstream(chunks("alpha ", "beta")),
                                hooks(**{"team.slow": {}}, stream_mode="final"), ctx)
    assert error is None and len(received) == 4
    (result,) = ctx.log.guardrails.after
    assert result.checks[0].data == {"text": "alpha beta"} and ctx.log.guardrails.trailing


@pytest.mark.parametrize("mode", ["buffer", "window", "final"])
async def test_every_mode_passes_a_clean_stream_whole(mode: str) -> None:
    received, error = await run(Upstream(chunks("one ", "two ", "three")),
                                hooks(**FORBID, deny=True, stream_mode=mode), context())
    assert error is None and "".join(received) == "one two three"
