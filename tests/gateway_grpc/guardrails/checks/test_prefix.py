"""default.addPrefix: where the prefix goes (role, first message, new message) for chat and completions."""

import pytest

from gateway_grpc.completions import CompletionRequest
from gateway_grpc.errors import InvalidConfig
from gateway_grpc.guardrails.base import BEFORE, COMPLETE, EMBED, Services, Subject
from gateway_grpc.guardrails.checking import compile_check, evaluate_check
from gateway_grpc.guardrails.checks.prefix import ADD_PREFIX
from gateway_grpc.types import EmbeddingsRequest, ImagePart, Message, TextPart, ToolCall
from tests.gateway_grpc.guardrails.subjects import chat_subject

P = "Please respond helpfully: "
IMAGE = ImagePart(url="https://example.com/cat.png")
CALL = ToolCall(id="c1", name="lookup", arguments="{}")

CHAT_CASES = [  # parameters, messages before, messages after
    ({"prefix": P}, (Message("user", "Hello world"),), (Message("user", P + "Hello world"),)),
    ({"prefix": P, "applyToRole": "user"}, (Message("system", "You are helpful"),),
     (Message("system", "You are helpful"), Message("user", P))),
    ({"prefix": "Important: ", "applyToRole": "system"},
     (Message("system", "You are a helpful assistant."), Message("user", "Hello")),
     (Message("system", "Important: You are a helpful assistant."), Message("user", "Hello"))),
    ({"prefix": "You are helpful. ", "applyToRole": "system"}, (Message("user", "Hello"),),
     (Message("system", "You are helpful. "), Message("user", "Hello"))),
    ({"prefix": P, "addToExisting": False}, (Message("system", "s"), Message("user", "Hello world")),
     (Message("system", "s"), Message("user", P), Message("user", "Hello world"))),
    # the first message of the role, not the last
    ({"prefix": P}, (Message("user", "one"), Message("assistant", "two"), Message("user", "three")),
     (Message("user", P + "one"), Message("assistant", "two"), Message("user", "three"))),
    ({"prefix": P, "applyToRole": "assistant"}, (Message("user", "q"), Message("assistant", None, tool_calls=(CALL,))),
     (Message("user", "q"), Message("assistant", P, tool_calls=(CALL,)))),
    ({"prefix": P}, (Message("user", (IMAGE, TextPart("what is this?"), TextPart("be brief"))),),
     (Message("user", (IMAGE, TextPart(P + "what is this?"), TextPart("be brief"))),)),
    ({"prefix": P}, (Message("user", (IMAGE,)),), (Message("user", (TextPart(P), IMAGE)),)),
    ({"prefix": P, "onlyIfEmpty": True, "applyToRole": "system"}, (Message("system", "  "), Message("user", "x")),
     (Message("system", P + "  "), Message("user", "x"))),
    ({"prefix": P, "onlyIfEmpty": True}, (Message("user", ()),), (Message("user", (TextPart(P),)),)),
    ({"prefix": P}, (Message("user", ""),), (Message("user", P),)),  # beyond the reference: an empty last message
    ({"prefix": P, "onlyIfEmpty": True}, (), (Message("user", P),)),  # no message of the role: added
]


@pytest.mark.parametrize(("params", "before", "after"), CHAT_CASES, ids=[f"chat-{i}" for i in range(len(CHAT_CASES))])
async def test_prefix_chat_placement(params, before, after):
    result, outcome = await evaluate_check(ADD_PREFIX, params, chat_subject("", messages=before))
    assert result.verdict is True and result.transformed is True
    assert outcome.request.messages == after
    assert outcome.response is None


@pytest.mark.parametrize(("params", "messages"), [
    ({"prefix": P, "applyToRole": "system", "onlyIfEmpty": True},
     (Message("system", "Existing"), Message("user", "x"))),
    ({"prefix": P, "onlyIfEmpty": True}, (Message("user", None),)),  # a None content is not "empty" (reference)
], ids=["system-not-empty", "none-content"])
async def test_prefix_only_if_empty_leaves_content_alone(params, messages):
    result, outcome = await evaluate_check(ADD_PREFIX, params, chat_subject("", messages=messages))
    assert result.verdict is True and result.transformed is False
    assert outcome.request is None
    assert result.data["action"].endswith("unchanged (not empty)")


@pytest.mark.parametrize(("prompt", "expected"), [
    ("Complete this text", P + "Complete this text"), ("", P), (("a", "b"), (P + "a", "b")), ((), (P,)),
], ids=["string", "empty", "list", "empty-list"])
async def test_prefix_completion_prompt(prompt, expected):
    subject = Subject(BEFORE, COMPLETE, CompletionRequest(model="m", prompt=prompt))
    result, outcome = await evaluate_check(ADD_PREFIX, {"prefix": P}, subject)
    assert outcome.request.prompt == expected
    assert result.data["requestType"] == COMPLETE


async def test_prefix_leaves_embeddings_alone():
    subject = Subject(BEFORE, EMBED, EmbeddingsRequest(model="e", inputs=("text",)))
    result, outcome = await evaluate_check(ADD_PREFIX, {"prefix": P}, subject)
    assert result.verdict is True and outcome.request is None


async def test_prefix_data_describes_the_operation():
    params = {"prefix": "Test prefix: ", "applyToRole": "user", "addToExisting": False, "onlyIfEmpty": True}
    result, _ = await evaluate_check(ADD_PREFIX, params, chat_subject("Hello world"))
    assert result.data == {"prefix": "Test prefix: ", "applyToRole": "user", "addToExisting": False,
                           "onlyIfEmpty": True, "requestType": "chatComplete", "action": "left the user message at "
                           "index 0 unchanged (not empty)"}
    result, _ = await evaluate_check(ADD_PREFIX, {"prefix": "x"}, chat_subject("Hello world"))
    assert (result.data["addToExisting"], result.data["onlyIfEmpty"], result.data["applyToRole"]) == (True, False,
                                                                                                      "user")
    assert result.data["action"] == "prepended to the user message at index 0"


def test_prefix_runs_before_the_call_only():
    assert ADD_PREFIX.events == frozenset({BEFORE})
    assert ADD_PREFIX.transforms and not ADD_PREFIX.negatable


@pytest.mark.parametrize(("params", "name"), [
    ({}, "prefix"), ({"prefix": ""}, "prefix"), ({"prefix": 5}, "prefix"),
    ({"prefix": "x", "applyToRole": "tool"}, "applyToRole"), ({"prefix": "x", "addToExisting": "yes"}, "addToExisting"),
    ({"prefix": "x", "onlyIfEmpty": 1}, "onlyIfEmpty"), ({"prefix": "x", "not": True}, "not"),
    ({"prefix": "x", "role": "user"}, "role"),
], ids=["missing", "empty", "number", "role", "add-to-existing", "only-if-empty", "not", "typo"])
def test_prefix_bad_parameters_name_the_parameter(params, name):
    with pytest.raises(InvalidConfig) as caught:
        compile_check(ADD_PREFIX, params, "p", Services())
    assert caught.value.violations[0].field == f"p.{name}"
