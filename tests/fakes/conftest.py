"""Fixtures and request helpers shared by the fake upstream's own tests (the fake proved with the official SDK)."""

from __future__ import annotations

import json

import httpx2
import pytest
from openai import OpenAI

from tests import oracles
from tests.fakes.openai_upstream import FakeOpenAI

HELLO = [{"role": "user", "content": "hello big world"}]


@pytest.fixture(scope="module")
def strict_server():
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture(scope="module")
def lenient_server():
    with FakeOpenAI(strict=False) as fake:
        yield fake


@pytest.fixture
def fake(strict_server):
    strict_server.clear()
    return strict_server


@pytest.fixture
def client(fake):
    with OpenAI(base_url=fake.base_url, api_key="sk-test", max_retries=0) as sdk:
        yield sdk


@pytest.fixture
def http(fake):
    with httpx2.Client(base_url=fake.base_url, headers={"authorization": "Bearer sk-test"}) as raw:
        yield raw


def sse_data(raw: bytes) -> list[str]:
    """The payload of every `data:` line, in order."""
    return [line[len("data: ") :] for line in raw.decode().split("\n") if line.startswith("data: ")]


def chat(model: str = "gpt-4o-mini", messages: list | None = None, **params) -> dict:
    return {"model": model, "messages": messages or HELLO, **params}


def stream_chunks(http: httpx2.Client, body: dict) -> tuple[list[dict], list[str]]:
    """POST a stream; every chunk validated by the oracle; returns (chunks, raw data lines)."""
    response = http.post("/chat/completions", json={**body, "stream": True})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    lines = sse_data(response.content)
    chunks = [json.loads(line) for line in lines if line != "[DONE]"]
    for chunk in chunks:
        oracles.check_chat_chunk(chunk)
    return chunks, lines
