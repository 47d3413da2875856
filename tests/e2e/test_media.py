"""Images and audio through the whole stack: the official openai SDK against the edge, and the native gRPC API,
with the fake OpenAI upstream behind; every request the gateway sends is checked by the SDK's strict types."""

from __future__ import annotations

import base64

import grpc
import httpx
import openai
import pytest

from gateway_grpc.v1 import gateway_service_pb2_grpc, media_pb2, options_pb2
from tests.fakes.openai_media_routes import AUDIO, PNG
from tests.fakes.stability_upstream import IMAGES as STABILITY_IMAGES
from tests.fakes.stability_upstream import FakeStability

pytestmark = pytest.mark.e2e


@pytest.fixture
def client(gateway_stack, upstream):
    headers = {"x-portkey-provider": "openai", "x-portkey-custom-host": upstream.base_url}
    with openai.OpenAI(base_url=gateway_stack.openai_url, api_key="sk-test", max_retries=0,
                       default_headers=headers) as sdk:
        yield sdk


@pytest.fixture
def stub(gateway_stack):
    with grpc.insecure_channel(gateway_stack.grpc_target) as channel:
        yield gateway_service_pb2_grpc.GatewayServiceStub(channel)


def test_media_images_as_urls_and_base64(client, upstream):
    urls = client.images.with_raw_response.generate(model="dall-e-3", prompt="a fox", n=2)
    assert [i.url for i in urls.parse().data] == ["https://images.fake/0.png", "https://images.fake/1.png"]
    assert urls.headers["x-portkey-provider"] == "openai"
    encoded = client.images.generate(model="dall-e-2", prompt="a fox", response_format="b64_json")
    assert base64.b64decode(encoded.data[0].b64_json) == PNG and encoded.data[0].revised_prompt == "revised: a fox"
    assert [r.oracle_errors for r in upstream.requests] == [[], []]


def test_media_speech_streams_the_audio_through(client):
    with client.audio.speech.with_streaming_response.create(model="tts-1", input="hello", voice="alloy",
                                                            response_format="opus") as response:
        assert response.headers["content-type"] == "audio/ogg"
        assert b"".join(response.iter_bytes()) == AUDIO


def test_media_transcriptions_in_each_format(client, upstream):
    plain = client.audio.transcriptions.create(model="whisper-1", file=("clip.wav", b"RIFF1234"), language="en",
                                               timestamp_granularities=["segment"], response_format="verbose_json")
    assert plain.text == "transcribed 8 bytes of clip.wav" and plain.duration == 1.5
    assert plain.segments[0].tokens == [1, 2, 3]
    text = client.audio.transcriptions.create(model="whisper-1", file=("c.mp3", b"ID3"), response_format="text")
    assert text == "transcribed 3 bytes of c.mp3"
    sent = upstream.requests[0].json
    assert sent["model"] == "whisper-1" and sent["language"] == "en" and sent["timestamp_granularities[]"] == "segment"


def test_media_translation_answers_json(client):
    answer = client.audio.translations.create(model="whisper-1", file=("clip.wav", b"RIFF"))
    assert answer.text == "translated 4 bytes of clip.wav"


def test_media_over_grpc_carries_image_bytes_and_audio_pieces(stub, upstream):
    options = options_pb2.RequestOptions(provider="openai", custom_host=upstream.base_url)
    meta = (("authorization", "Bearer sk-test"),)
    image = stub.CreateImage(media_pb2.CreateImageRequest(model="dall-e-2", prompt="x", response_format="b64_json",
                                                          options=options), metadata=meta)
    assert image.data[0].data == PNG and image.routing.last_used_option_index == "config"
    pieces = list(stub.CreateSpeech(media_pb2.CreateSpeechRequest(model="tts-1", input="hi", voice="alloy",
                                                                  options=options), metadata=meta))
    assert b"".join(p.audio for p in pieces) == AUDIO and pieces[0].content_type == "audio/mpeg"
    text = stub.CreateTranscription(media_pb2.CreateTranscriptionRequest(
        file=b"RIFF", filename="a.wav", model="whisper-1", options=options), metadata=meta)
    assert text.text == "transcribed 4 bytes of a.wav"


def test_media_a_provider_without_images_says_so(gateway_stack):
    with openai.OpenAI(base_url=gateway_stack.openai_url, api_key="k", max_retries=0,
                       default_headers={"x-portkey-provider": "anthropic"}) as sdk, \
            pytest.raises(openai.BadRequestError) as caught:
        sdk.images.generate(model="claude", prompt="x")
    assert caught.value.body["message"] == "model: anthropic does not support image generation"


def test_media_bad_multipart_is_a_clear_4xx(gateway_stack):
    url = f"{gateway_stack.openai_url}/audio/transcriptions"
    missing = httpx.post(url, files={"model": (None, "whisper-1")}, headers={"x-portkey-provider": "openai"})
    assert missing.status_code == 400 and "file" in missing.json()["error"]["message"]
    wrong = httpx.post(url, json={"model": "whisper-1"}, headers={"x-portkey-provider": "openai"})
    assert wrong.status_code == 415


@pytest.fixture(scope="module")
def stability():
    with FakeStability() as fake:
        yield fake


def test_media_stability_images_through_the_stack(gateway_stack, stability):
    headers = {"x-portkey-provider": "stability-ai", "x-portkey-custom-host": stability.origin}
    with openai.OpenAI(base_url=gateway_stack.openai_url, api_key="sk-stab", max_retries=0,
                       default_headers=headers) as sdk:
        image = sdk.images.generate(model="stable-image-core", prompt="a fox", size="1792x1024",
                                    response_format="b64_json")
        with pytest.raises(openai.BadRequestError) as caught:
            sdk.images.generate(model="stable-image-core", prompt="a fox", n=2)
    assert base64.b64decode(image.data[0].b64_json) == STABILITY_IMAGES["png"]
    sent = stability.requests[-1]
    assert sent.json == {"prompt": "a fox", "aspect_ratio": "16:9"}
    assert sent.headers["authorization"] == "Bearer sk-stab"
    assert caught.value.body["message"] == "n: stability-ai returns one image per call: n must be 1"


def test_media_groq_serves_audio_but_not_images(gateway_stack, upstream):
    headers = {"x-portkey-provider": "groq", "x-portkey-custom-host": upstream.base_url}
    with openai.OpenAI(base_url=gateway_stack.openai_url, api_key="gsk-test", max_retries=0,
                       default_headers=headers) as sdk:
        text = sdk.audio.transcriptions.create(model="whisper-large-v3", file=("a.wav", b"RIFF"))
        with pytest.raises(openai.BadRequestError) as caught:
            sdk.images.generate(model="m", prompt="x")
    assert text.text == "transcribed 4 bytes of a.wav" and upstream.requests[-1].path == "/v1/audio/transcriptions"
    assert caught.value.body["message"] == "model: groq does not support image generation"
