"""The fake's Azure OpenAI images and audio routes, proved with the official `openai.AzureOpenAI` client: the paths,
`api-version` and `api-key` the SDK sends are the ones the fake serves, bodies pass the SDK's strict request types,
raw answers validate as the SDK's response models; and Azure's refusals (no api-version, no or bad key)."""

from __future__ import annotations

import base64

import httpx2
import openai
import pytest
from openai import AzureOpenAI
from openai.types import ImagesResponse
from openai.types.audio import Transcription

from tests.fakes.openai_media_routes import AUDIO, PNG

API_VERSION = "2024-10-21"
DEPLOYMENT = "/openai/deployments/dep1"


@pytest.fixture
def azure(fake):
    with AzureOpenAI(azure_endpoint=fake.origin, api_key="az-key", api_version=API_VERSION,
                     azure_deployment="dep1", max_retries=0) as client:
        yield client


def _sent(fake, path: str):
    sent = fake.requests[-1]
    assert (sent.method, sent.path, sent.query) == ("POST", f"{DEPLOYMENT}{path}", {"api-version": API_VERSION})
    assert sent.headers["api-key"] == "az-key" and "authorization" not in sent.headers
    return sent


def test_azure_sdk_images_reach_the_deployment_route(azure, fake):
    raw = azure.images.with_raw_response.generate(model="dall-e-3", prompt="a fox", response_format="b64_json")
    ImagesResponse.model_validate(raw.http_response.json())
    assert base64.b64decode(raw.parse().data[0].b64_json) == PNG
    assert _sent(fake, "/images/generations").oracle_errors == []


def test_azure_sdk_speech_streams_the_audio(azure, fake):
    with azure.audio.speech.with_streaming_response.create(model="tts-1", input="hi", voice="alloy",
                                                           response_format="flac") as response:
        assert response.headers["content-type"] == "audio/flac" and b"".join(response.iter_bytes()) == AUDIO
    assert _sent(fake, "/audio/speech").oracle_errors == []


@pytest.mark.parametrize(("translate", "path"), [(False, "/audio/transcriptions"), (True, "/audio/translations")])
def test_azure_sdk_transcriptions_and_translations(azure, fake, translate, path):
    api = azure.audio.translations if translate else azure.audio.transcriptions
    answer = api.create(model="whisper-1", file=("clip.wav", b"RIFF1234"), response_format="json")
    Transcription.model_validate(answer.model_dump())
    assert answer.text.endswith("8 bytes of clip.wav")
    assert _sent(fake, path).json == {"model": "whisper-1", "response_format": "json"}


def test_azure_sdk_entra_token_is_accepted(fake):
    with AzureOpenAI(azure_endpoint=fake.origin, azure_ad_token="entra", api_version=API_VERSION,
                     azure_deployment="dep1", max_retries=0) as client:
        client.images.generate(model="dall-e-3", prompt="x")
    assert fake.requests[-1].headers["authorization"] == "Bearer entra"


def test_azure_sdk_bad_key_is_an_authentication_error(fake):
    with AzureOpenAI(azure_endpoint=fake.origin, api_key="sk-bad", api_version=API_VERSION,
                     azure_deployment="dep1", max_retries=0) as client, pytest.raises(openai.AuthenticationError):
        client.audio.transcriptions.create(model="whisper-1", file=("a.wav", b"R"))


@pytest.mark.parametrize("path", ["/images/generations", "/audio/speech", "/audio/transcriptions",
                                  "/audio/translations"])
@pytest.mark.parametrize(("query", "headers", "status"), [
    ("", {"api-key": "k"}, 404),  # no api-version: Azure's "Resource not found"
    (f"?api-version={API_VERSION}", {}, 401),
])
def test_azure_media_routes_refuse_like_azure(fake, path, query, headers, status):
    with httpx2.Client(base_url=fake.origin) as raw:
        response = raw.post(f"{DEPLOYMENT}{path}{query}", json={"model": "m", "prompt": "x"}, headers=headers)
    assert response.status_code == status and set(response.json()["error"]) == {"code", "message"}
