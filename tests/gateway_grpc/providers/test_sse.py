"""SSE framing: the same events come out however the bytes are split and whatever the line endings."""

import pytest

from gateway_grpc.providers.base import SseEvent
from gateway_grpc.providers.sse import SseDecoder

STREAM = (
    b'data: {"a":1}\n\nevent: content-delta\ndata: {"b":2}\n\n: keep-alive comment\n\n'
    b"data: line1\ndata: line2\n\ndata: [DONE]\n\n"
)
EXPECTED = [
    SseEvent("", '{"a":1}'),
    SseEvent("content-delta", '{"b":2}'),
    SseEvent("", "line1\nline2"),
    SseEvent("", "[DONE]"),
]


def _decode_in_pieces(data: bytes, size: int) -> list[SseEvent]:
    decoder = SseDecoder()
    events = []
    for start in range(0, len(data), size):
        events += decoder.feed(data[start : start + size])
    return events + decoder.flush()


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64, 10_000])
def test_sse_decoder_same_events_for_any_split(size):
    assert _decode_in_pieces(STREAM, size) == EXPECTED


@pytest.mark.parametrize("newline", [b"\r\n", b"\r"])
@pytest.mark.parametrize("size", [1, 5, 10_000])
def test_sse_decoder_accepts_crlf_and_cr_line_ends(newline, size):
    assert _decode_in_pieces(STREAM.replace(b"\n", newline), size) == EXPECTED


def test_sse_decoder_flush_returns_an_unterminated_last_event():
    decoder = SseDecoder()
    assert decoder.feed(b'data: {"x":1}') == []
    assert decoder.flush() == [SseEvent("", '{"x":1}')]


def test_sse_decoder_keeps_utf8_split_across_chunks():
    text = "data: héllo ✓\n\n".encode()
    assert _decode_in_pieces(text, 1) == [SseEvent("", "héllo ✓")]


def test_sse_decoder_strips_only_one_leading_space():
    assert _decode_in_pieces(b"data:  two spaces\n\ndata:none\n\n", 100) == [
        SseEvent("", " two spaces"),
        SseEvent("", "none"),
    ]
