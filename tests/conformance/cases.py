"""The cases of the conformance matrix: the OpenAI request each one sends (a function of the model name), its kind
(unary chat, stream, embeddings), the word a refusal must name when a provider lacks the feature, and for error
cases the upstream failure it scripts. Pure data; what a provider answers is checked in test_conformance.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

USER_TEXT = "hello there"
WEATHER_QUESTION = "what is the weather in Paris"
IMAGE_QUESTION = "what is in this image"
# A 1x1 PNG: every provider here takes image/png inline.
PNG_DATA_URL = ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQ"
                "AAAABJRU5ErkJggg==")
TOOL_CALL_ID = "call_abc123"  # 11 characters: Mistral's 9-character rule makes the gateway map it
TOOL_RESULT = '{"temperature": 21}'
EMBEDDING_INPUTS = ["first text", "second text"]
# Key order matters here: structured outputs follow the schema's order, so it must reach the upstream unchanged.
ECHO_SCHEMA = {"type": "object", "properties": {"echo": {"type": "string"}, "confidence": {"type": "number"}},
               "required": ["echo"], "additionalProperties": False}


def _tool(name: str, description: str) -> dict[str, Any]:
    parameters = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    return {"type": "function", "function": {"name": name, "description": description, "parameters": parameters}}


WEATHER_TOOL = _tool("get_weather", "The current weather in a city")
TIME_TOOL = _tool("get_time", "The local time in a city")


def _user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


def _chat(messages: list[dict[str, Any]], **params: Any) -> Callable[[str], dict[str, Any]]:
    return lambda model: {"model": model, "messages": messages, **params}


@dataclass(frozen=True, slots=True)
class Case:
    """One row of the matrix. `kind`: "chat" (unary), "stream" or "embeddings". `feature`: the word a provider
    without the feature must name in its 400. `status`: the upstream status an error case scripts (None: no error).
    `user_text`: the last user text, which every fake echoes."""

    id: str
    kind: str
    body: Callable[[str], dict[str, Any]]
    feature: str = ""
    status: int | None = None
    user_text: str = USER_TEXT

    @property
    def is_error(self) -> bool:
        return self.status is not None


_TOOL_HISTORY = [
    {"role": "user", "content": WEATHER_QUESTION},
    {"role": "assistant", "content": None, "tool_calls": [
        {"id": TOOL_CALL_ID, "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}},
    ]},
    {"role": "tool", "tool_call_id": TOOL_CALL_ID, "content": TOOL_RESULT},
]
_IMAGE_MESSAGE = [{"role": "user", "content": [{"type": "text", "text": IMAGE_QUESTION},
                                               {"type": "image_url", "image_url": {"url": PNG_DATA_URL}}]}]
_JSON_SCHEMA = {"type": "json_schema", "json_schema": {"name": "echo", "strict": True, "schema": ECHO_SCHEMA}}

CASES: tuple[Case, ...] = (
    Case("basic_chat", "chat", _chat(_user(USER_TEXT))),
    Case("system_prompt", "chat", _chat([{"role": "system", "content": "You are terse."}, *_user(USER_TEXT)])),
    Case("multi_turn", "chat", _chat([*_user("first question"), {"role": "assistant", "content": "first answer"},
                                      *_user("second question")]), user_text="second question"),
    Case("tool_call", "chat", _chat(_user(WEATHER_QUESTION), tools=[WEATHER_TOOL]), "tools",
         user_text=WEATHER_QUESTION),
    Case("parallel_tool_calls", "chat", _chat(_user(WEATHER_QUESTION), tools=[WEATHER_TOOL, TIME_TOOL]), "tools",
         user_text=WEATHER_QUESTION),
    Case("tool_results", "chat", _chat(_TOOL_HISTORY, tools=[WEATHER_TOOL]), "tools", user_text=WEATHER_QUESTION),
    Case("image_input", "chat", _chat(_IMAGE_MESSAGE), "image", user_text=IMAGE_QUESTION),
    Case("json_output", "chat", _chat(_user(USER_TEXT), response_format=_JSON_SCHEMA), "response_format"),
    Case("stream_text", "stream", _chat(_user(USER_TEXT), stream=True)),
    Case("stream_tool_calls", "stream", _chat(_user(WEATHER_QUESTION), tools=[WEATHER_TOOL, TIME_TOOL], stream=True),
         "tools", user_text=WEATHER_QUESTION),
    Case("stream_usage", "stream", _chat(_user(USER_TEXT), stream=True, stream_options={"include_usage": True}),
         "stream_options"),
    Case("embeddings", "embeddings", lambda model: {"model": model, "input": EMBEDDING_INPUTS,
                                                    "encoding_format": "float"}, "embeddings"),
    *(Case(f"error_{status}", "chat", _chat(_user(USER_TEXT)), status=status)
      for status in (400, 401, 403, 404, 429, 500, 503)),
)
# Error cases only some providers have (Anthropic's 529 "overloaded"); a row lists the ones it has.
EXTRA_CASES: tuple[Case, ...] = (Case("error_529", "chat", _chat(_user(USER_TEXT)), status=529),)
BY_ID = {case.id: case for case in (*CASES, *EXTRA_CASES)}
