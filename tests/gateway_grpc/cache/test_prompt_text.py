"""prompt_text: the last user turn's text, or None when a request must skip the semantic cache."""

import pytest

from gateway_grpc.cache.prompt_text import prompt_context, prompt_text
from gateway_grpc.types import AudioPart, ChatRequest, FilePart, ImagePart, Message, OtherPart, TextPart


def request(*messages: Message) -> ChatRequest:
    return ChatRequest(model="gpt-4o-mini", messages=messages)


SYSTEM = Message("system", "Answer in one sentence.")


def test_prompt_text_is_the_last_user_turn_only():
    chat = request(SYSTEM, Message("user", "Hi"), Message("assistant", "Hello!"), Message("user", "Capital of Peru?"))
    assert prompt_text(chat) == "Capital of Peru?"
    assert prompt_context(chat) == chat.messages[:-1]


def test_prompt_text_joins_the_text_parts_of_the_last_turn():
    parts = (TextPart("Summarize:"), TextPart("The council voted to extend the bike lanes.", extra={"x": 1}))
    assert prompt_text(request(Message("user", parts))) == "Summarize:\nThe council voted to extend the bike lanes."


@pytest.mark.parametrize("part", [ImagePart(url="https://example.com/cat.png"), AudioPart(b"RIFF", "wav"),
                                  FilePart(file_id="file-1"), OtherPart({"type": "input_video"})],
                         ids=["image", "audio", "file", "other"])
def test_prompt_text_is_none_when_any_message_has_a_non_text_part(part):
    assert prompt_text(request(Message("user", (TextPart("What is this?"), part)))) is None
    earlier = Message("user", (part,))
    assert prompt_text(request(earlier, Message("assistant", "A cat."), Message("user", "Which breed?"))) is None


@pytest.mark.parametrize("last", [Message("assistant", "Sure, here is"), Message("tool", "42", tool_call_id="c1"),
                                  Message("system", "Be brief.")], ids=["assistant-prefill", "tool-result", "system"])
def test_prompt_text_is_none_when_the_last_turn_is_not_the_user(last):
    assert prompt_text(request(Message("user", "What is 6 x 7?"), last)) is None


@pytest.mark.parametrize("content", ["", "  \n\t", None, ()], ids=["empty", "blank", "none", "no-parts"])
def test_prompt_text_is_none_for_a_blank_last_turn(content):
    assert prompt_text(request(Message("user", content))) is None


def test_prompt_text_is_none_without_messages():
    assert prompt_text(request()) is None
