"""cache/answers.py and cache/replay.py: answers survive the trip through bytes; a stored answer replayed as a
stream reassembles into the same answer (what an OpenAI client does with the chunks), and streams assemble into
the answers they amount to."""

from __future__ import annotations

import pytest

from gateway_grpc import types as t
from gateway_grpc.cache import answers, replay
from gateway_grpc.completions import Completion, CompletionChoice

USAGE = t.Usage(12, 7, 19, cached_tokens=4)
CALLS = (t.ToolCall("call_1", "lookup", '{"q": "x"}'),
         t.ToolCall("call_2", "fetch", "{}", extra={"extra_content": {"google": {"thought_signature": "c2ln"}}}))
CHAT = t.ChatResponse("chatcmpl-1", 1700000000, "gpt-4o-mini", (
    t.Choice(0, t.Message("assistant", "Paris.", reasoning_content="the capital"), "stop",
             {"content": [{"token": "Paris", "logprob": -0.1}]}, {"content_filter_results": {"hate": "safe"}}),
    t.Choice(1, t.Message("assistant", None, tool_calls=CALLS), "tool_calls"),
), USAGE, "fp_1", "default", {"provider_extra": {"a": 1}})
PARTS = t.ChatResponse("c", 1, "m", (t.Choice(0, t.Message("assistant", (t.TextPart("hi", {"k": 1}),
                                                                          t.OtherPart({"type": "x"}))), "stop"),))
TEXT = Completion("cmpl-1", 1, "gpt-3.5-turbo-instruct", (CompletionChoice(0, "Paris", "stop", {"tokens": ["P"]}),
                                                          CompletionChoice(1, "Lyon", "length")), USAGE, "fp")
VECTORS = t.EmbeddingsResponse("text-embedding-3-small", ([0.1, -0.25, 1e-30], [3.0, 0.0, -1.5]), t.Usage(4, 0, 4))


@pytest.mark.parametrize(("kind", "answer"), [("chat", CHAT), ("chat", PARTS), ("completions", TEXT),
                                              ("embeddings", VECTORS)])
def test_answers_round_trip_through_bytes(kind, answer):
    entry = answers.CachedAnswer(kind, answer)
    assert answers.load(answers.dump(entry)) == entry


@pytest.mark.parametrize("raw", [b"", b"nope", b"[]", b'{"v": 2, "kind": "chat", "answer": {}}',
                                 b'{"v": 1, "kind": "images", "answer": {}}',
                                 b'{"v": 1, "kind": "chat", "answer": {"id": "x"}}'])
def test_answers_that_do_not_read_back_are_misses(raw):
    assert answers.load(raw) is None


def test_replay_chat_reassembles_into_the_same_answer_with_usage_only_when_asked():
    chunks = replay.replay_chat(CHAT, include_usage=True)
    assert chunks[-1].choices == () and chunks[-1].usage == USAGE
    assert all(c.usage is None for c in chunks[:-1])
    again = replay.assemble_chat(chunks)
    assert again == t.ChatResponse(CHAT.id, CHAT.created, CHAT.model, tuple(
        t.Choice(c.index, c.message, c.finish_reason, c.logprobs) for c in CHAT.choices), USAGE, "fp_1", "default")
    assert all(c.usage is None for c in replay.replay_chat(CHAT, include_usage=False))


def test_replay_assembles_a_provider_stream_of_deltas():
    d = t.Delta
    chunks = [
        t.ChatChunk("s", 5, "m", (t.ChunkChoice(0, d(role="assistant", content="")),)),
        t.ChatChunk("s", 5, "m", (t.ChunkChoice(0, d(content="Hel")),)),
        t.ChatChunk("s", 5, "m", (t.ChunkChoice(0, d(content="lo", tool_calls=(
            t.ToolCallDelta(0, "call_1", "function", "lookup", '{"q"'),))),)),
        t.ChatChunk("s", 5, "m", (t.ChunkChoice(0, d(tool_calls=(
            t.ToolCallDelta(0, arguments=': 1}'), t.ToolCallDelta(1, "call_2", "function", "f", "{}")))),)),
        t.ChatChunk("s", 5, "m", (t.ChunkChoice(0, d(), "tool_calls"),)),
        t.ChatChunk("s", 5, "m", (), t.Usage(3, 4, 7)),
    ]
    answer = replay.assemble_chat(chunks)
    assert answer.choices == (t.Choice(0, t.Message("assistant", "Hello", tool_calls=(
        t.ToolCall("call_1", "lookup", '{"q": 1}'), t.ToolCall("call_2", "f", "{}"))), "tool_calls"),)
    assert answer.usage == t.Usage(3, 4, 7) and replay.assemble_chat([]) is None


def test_replay_text_round_trip_and_assembly():
    chunks = replay.replay_text(TEXT, include_usage=True)
    assert [len(c.choices) for c in chunks] == [1, 1, 0] and chunks[-1].usage == USAGE
    assert replay.assemble_text(chunks) == Completion(TEXT.id, TEXT.created, TEXT.model, (
        CompletionChoice(0, "Paris", "stop"), CompletionChoice(1, "Lyon", "length")), USAGE, "fp")
    pieces = [Completion("c", 1, "m", (CompletionChoice(0, "Par"),)),
              Completion("c", 1, "m", (CompletionChoice(0, "is", "stop"),))]
    assert replay.assemble_text(pieces).choices == (CompletionChoice(0, "Paris", "stop"),)
    assert replay.assemble_text([]) is None
