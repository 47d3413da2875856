"""A stream whose first item has arrived: how the router holds a streamed answer so that failures before the first
chunk stay retryable and can fall back, while the rest flows through (routing, the cache, guardrails share it).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any


class PrimedStream:
    """A stream whose first chunk has arrived (None: the stream was empty), and the rest of it."""

    __slots__ = ("first", "rest")

    def __init__(self, first: Any, rest: AsyncIterator[Any]) -> None:
        self.first = first
        self.rest = rest


async def primed(chunks: Any) -> PrimedStream:
    """Wait for the first item of an async generator: failures before it stay retryable and fall back."""
    try:
        first = await anext(chunks)
    except StopAsyncIteration:
        return PrimedStream(None, chunks)
    except BaseException:
        await chunks.aclose()
        raise
    return PrimedStream(first, chunks)


async def drain(stream: PrimedStream) -> AsyncIterator[Any]:
    """Every item of a primed stream; closes the upstream however the consumer stops."""
    try:
        if stream.first is None:
            return
        yield stream.first
        async for item in stream.rest:
            yield item
    finally:
        await stream.rest.aclose()


def primed_items(items: Sequence[Any]) -> PrimedStream:
    """A primed stream of items already in hand (a replayed or released answer)."""
    return PrimedStream(items[0] if items else None, _items(items[1:]))


async def _items(items: Sequence[Any]) -> AsyncIterator[Any]:
    for item in items:
        yield item
