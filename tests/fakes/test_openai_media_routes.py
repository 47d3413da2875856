"""The fake's Images and Audio routes, proved with the official openai SDK and its response models."""

from __future__ import annotations

import base64

import httpx
import pytest
from openai import OpenAI
from openai.types import ImagesResponse
from openai.types.audio import Transcription, TranscriptionVerbose

from tests.fakes.openai_media_routes import AUDIO, PNG
from tests.fakes.openai_upstream import FakeOpenAI


@pytest.fixture(scope="module")
def fake():
    with FakeOpenAI() as server:
        yield server


@pytest.fixture
def sdk(fake):
    fake.clear()
    with OpenAI(base_url=fake.base_url, api_key="sk-test", max_retries=0) as client:
        yield client


def test_fake_images_answer_urls_and_base64(sdk, fake):
    urls = sdk.images.generate(model="dall-e-3", prompt="a fox", n=2)
    assert [i.url for i in urls.data] == ["https://images.fake/0.png", "https://images.fake/1.png"]
    encoded = sdk.images.generate(model="dall-e-2", prompt="a fox", response_format="b64_json")
    assert base64.b64decode(encoded.data[0].b64_json) == PNG
    raw = sdk.images.with_raw_response.generate(model="dall-e-2", prompt="x").http_response.json()
    ImagesResponse.model_validate(raw)
    assert [r.oracle_errors for r in fake.requests] == [[], [], []]


def test_fake_images_refuse_a_body_the_sdk_types_reject(fake):
    reply = httpx.post(f"{fake.base_url}/images/generations", json={"prompt": "x", "n": "two"},
                       headers={"authorization": "Bearer sk-test"})
    assert reply.status_code == 400 and "oracle" in reply.json()["error"]["message"]


def test_fake_speech_streams_the_audio(sdk):
    with sdk.audio.speech.with_streaming_response.create(model="tts-1", input="hi", voice="alloy",
                                                         response_format="wav") as response:
        assert response.headers["content-type"] == "audio/wav"
        assert b"".join(response.iter_bytes()) == AUDIO


@pytest.mark.parametrize("translate", [False, True])
def test_fake_transcriptions_answer_each_format(sdk, translate):
    api = sdk.audio.translations if translate else sdk.audio.transcriptions
    plain = api.create(model="whisper-1", file=("clip.wav", b"RIFF1234"))
    Transcription.model_validate(plain.model_dump())
    assert plain.text.endswith("8 bytes of clip.wav")
    verbose = api.create(model="whisper-1", file=("clip.wav", b"RIFF"), response_format="verbose_json")
    TranscriptionVerbose.model_validate(verbose.model_dump())
    assert api.create(model="whisper-1", file=("c.wav", b"R"), response_format="text").endswith("1 bytes of c.wav")
