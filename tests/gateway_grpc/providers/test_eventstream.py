"""providers/eventstream.py: AWS event-stream frames in any chunking -> EventStreamEvent; broken frames -> 502.

Frames come from the fake's encoder (tests/fakes/bedrock_upstream), itself proven by botocore's EventStreamBuffer."""

import struct
import zlib

import pytest

from gateway_grpc import errors as e
from gateway_grpc.providers.eventstream import AwsEventStreamDecoder, EventStreamEvent
from tests import oracles_bedrock as oracles
from tests.fakes.bedrock_upstream import encode_event, encode_exception, encode_frame

FRAMES = [
    encode_event("messageStart", {"role": "assistant"}),
    encode_event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "héllo"}}),
    encode_exception("throttlingException", "slow down"),
]
STREAM = b"".join(FRAMES)


def _events(chunks):
    framer = AwsEventStreamDecoder()
    return [event for chunk in chunks for event in framer.feed(chunk)] + framer.flush()


def test_eventstream_fixture_frames_pass_botocore():
    assert [(kind, name) for kind, name, _ in oracles.stream_events(STREAM)] == [
        ("event", "messageStart"), ("event", "contentBlockDelta"), ("exception", "throttlingException")]


@pytest.mark.parametrize("size", [1, 3, 12, 13, 50, len(STREAM)])
def test_eventstream_any_chunking_yields_the_same_events(size):
    events = _events([STREAM[i : i + size] for i in range(0, len(STREAM), size)])
    assert events == [
        EventStreamEvent("event", "messageStart", b'{"role":"assistant"}', {
            ":event-type": "messageStart", ":content-type": "application/json", ":message-type": "event"}),
        EventStreamEvent("event", "contentBlockDelta",
                         '{"contentBlockIndex":0,"delta":{"text":"héllo"}}'.encode(), events[1].headers),
        EventStreamEvent("exception", "throttlingException", b'{"message":"slow down"}', events[2].headers),
    ]


def test_eventstream_error_frames_are_named_by_error_code():
    frame = encode_frame({":message-type": "error", ":error-code": "InternalFailure", ":error-message": "boom"}, {})
    (event,) = _events([frame])
    assert (event.message_type, event.event_type, event.headers[":error-message"]) == ("error", "InternalFailure",
                                                                                      "boom")


def test_eventstream_a_frame_cut_short_yields_nothing_on_flush():
    framer = AwsEventStreamDecoder()
    assert [ev.event_type for ev in framer.feed(FRAMES[0] + FRAMES[1][:-5])] == ["messageStart"]
    assert framer.flush() == []


def _corrupt_message_crc(frame: bytes) -> bytes:
    return frame[:-4] + struct.pack(">I", zlib.crc32(frame[:-4]) ^ 1)


def _corrupt_prelude_crc(frame: bytes) -> bytes:
    return frame[:8] + struct.pack(">I", zlib.crc32(frame[:8]) ^ 1) + frame[12:]


def _bad_header_type(frame: bytes) -> bytes:
    # type byte of the first header (after prelude 12 + name length 1 + ":event-type" 11) -> 42, CRC recomputed
    broken = frame[:24] + b"\x2a" + frame[25:-4]
    return broken + struct.pack(">I", zlib.crc32(broken))


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (_corrupt_message_crc(FRAMES[1]), "ChecksumMismatch"),
        (_corrupt_prelude_crc(FRAMES[1]), "ChecksumMismatch"),
        (b"<html><body>502 Bad Gateway</body></html>", "ChecksumMismatch"),
        (_bad_header_type(FRAMES[0]), "KeyError"),
    ],
    ids=["message-crc", "prelude-crc", "html", "header-type"],
)
def test_eventstream_broken_frames_are_bad_responses(body, kind):
    with pytest.raises(e.ProviderBadResponse) as caught:
        _events([FRAMES[0], body])
    assert caught.value.provider == "bedrock" and f"({kind})" in caught.value.message
    assert caught.value.http_status == 502


def test_eventstream_a_non_eventstream_body_is_quoted():
    with pytest.raises(e.ProviderBadResponse, match="Service Unavailable"):
        _events([b"<html>Service Unavailable</html>"])
