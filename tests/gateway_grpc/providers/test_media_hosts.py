"""Which provider serves which medium and text completions (OpenAI-compatible rows say so in `Dialect.media` and
`Dialect.completions`; providers/call.py asks `supports`), run alike for every registry entry; Groq's audio at its
OpenAI-compatible paths; Azure OpenAI's images and audio, sent exactly as `openai.AzureOpenAI` sends them (both
recorded by the fake and compared)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import orjson
import pytest
import pytest_asyncio
from openai import AzureOpenAI
from openai.types.audio import transcription_create_params

from gateway_grpc import errors as e
from gateway_grpc import types as t
from gateway_grpc.completions import CompletionRequest
from gateway_grpc.media import ImageRequest, SpeechRequest, TranscriptionRequest
from gateway_grpc.providers import PROVIDERS
from gateway_grpc.providers.azure import DEFAULT_API_VERSION
from gateway_grpc.providers.call import CAPABILITIES, ProviderCall
from gateway_grpc.providers.openai_dialect import ALL_MEDIA, COMPLETIONS, IMAGES, SPEECH, TRANSCRIPTION
from gateway_grpc.providers.transport import ProviderTransport
from gateway_grpc.v1 import media_pb2, options_pb2
from tests import oracles
from tests.fakes.openai_media_routes import AUDIO, PNG
from tests.gateway_grpc.providers.test_openai_media import multipart_fields

SERVED = {  # every other registry entry serves neither media nor text completions
    "openai": ALL_MEDIA | {COMPLETIONS}, "azure-openai": ALL_MEDIA | {COMPLETIONS},
    "together-ai": ALL_MEDIA | {COMPLETIONS}, "groq": {SPEECH, TRANSCRIPTION}, "x-ai": {IMAGES, COMPLETIONS},
    "vllm": {TRANSCRIPTION, COMPLETIONS}, "stability-ai": {IMAGES}, "mistral-ai": {COMPLETIONS},
    **{slug: {COMPLETIONS} for slug in ("fireworks-ai", "openrouter", "cerebras", "deepinfra", "nebius", "hyperbolic",
                                        "lambda", "novita-ai", "ollama", "lm-studio")},
}
OPTIONS = {"deployment_id": "dep1", "resource_name": "res"}
CALLS = {  # capability -> (how ProviderCall runs it, the path its upstream call ends with)
    IMAGES: (lambda pc, ctx: pc.generate_images(ImageRequest("stable-image-core", "a fox"), ctx),
             "/images/generations"),
    SPEECH: (lambda pc, ctx: pc.speak(SpeechRequest("tts-1", "hi", "alloy"), ctx).__anext__(), "/audio/speech"),
    TRANSCRIPTION: (lambda pc, ctx: pc.transcribe(TranscriptionRequest(b"RIFF", "a.wav", "whisper-1"), ctx),
                    "/audio/transcriptions"),
    COMPLETIONS: (lambda pc, ctx: pc.complete_text(CompletionRequest("m", "def f("), ctx), "/completions"),
}
OWN_PATHS = {  # not OpenAI's path
    ("stability-ai", IMAGES): "/v2beta/stable-image/generate/core",
    ("mistral-ai", COMPLETIONS): "/fim/completions",
}


class Sent(Exception):
    """The call got past every check and reached the transport."""


class StopAtTransport:
    """A transport fake that records the encoded call and goes no further."""

    def __init__(self) -> None:
        self.calls: list = []

    async def send(self, call, *args) -> None:
        self.calls.append(call)
        raise Sent

    @contextlib.asynccontextmanager
    async def stream(self, call, *args) -> AsyncIterator[None]:
        self.calls.append(call)
        raise Sent
        yield


@pytest.mark.parametrize("capability", sorted(CAPABILITIES))
@pytest.mark.parametrize("slug", sorted(PROVIDERS))
async def test_media_hosts_each_provider_serves_what_it_documents(slug, capability):
    transport = StopAtTransport()
    run, path = CALLS[capability]
    ctx = t.CallContext("trace", target=t.Target(slug, "k", provider_options=OPTIONS))
    if capability in SERVED.get(slug, ()):
        with pytest.raises(Sent):
            await run(ProviderCall(transport), ctx)
        (call,) = transport.calls
        assert call.url.split("?")[0].endswith(OWN_PATHS.get((slug, capability), path)), call.url
        return
    with pytest.raises(e.InvalidRequest) as caught:
        await run(ProviderCall(transport), ctx)
    assert str(caught.value) == f"model: {slug} does not support {CAPABILITIES[capability]}"
    assert transport.calls == []


def test_media_hosts_table_names_only_registered_providers():
    assert set(SERVED) <= set(PROVIDERS)


# --- Groq -----------------------------------------------------------------------------------------------------------

GROQ = PROVIDERS["groq"]


@pytest.mark.parametrize(("translate", "path"), [(False, "audio/transcriptions"), (True, "audio/translations")])
def test_media_hosts_groq_audio_is_openai_multipart_at_groqs_paths(translate, path):
    params = {"response_format": "verbose_json", "temperature": 0.0, "prompt": "names: Ada"}
    if not translate:
        params |= {"language": "en", "timestamp_granularities": ["word", "segment"]}
    request = TranscriptionRequest(b"RIFF-audio", "clip.m4a", "whisper-large-v3-turbo", translate, params)
    call = GROQ.encode_transcription(request, t.Target("groq", "gsk-1"))
    fields = multipart_fields(call)
    assert call.url == f"https://api.groq.com/openai/v1/{path}" and call.headers["authorization"] == "Bearer gsk-1"
    assert fields["file"] == [("clip.m4a", b"RIFF-audio")] and fields["model"] == ["whisper-large-v3-turbo"]
    assert fields["response_format"] == ["verbose_json"] and fields["temperature"] == ["0.0"]
    assert fields.get("timestamp_granularities[]") == (None if translate else ["word", "segment"])
    typed = {"file": b"RIFF-audio", "model": "whisper-large-v3-turbo", **params}
    assert oracles.request_errors(transcription_create_params.TranscriptionCreateParamsNonStreaming, typed) == []


def test_media_hosts_groq_speech_goes_to_groqs_speech_path():
    call = GROQ.encode_speech(SpeechRequest("canopylabs/orpheus-v1-english", "hi", "autumn",
                                            {"response_format": "wav"}), t.Target("groq", "gsk-1"))
    assert call.url == "https://api.groq.com/openai/v1/audio/speech"
    assert orjson.loads(call.body) == {"model": "canopylabs/orpheus-v1-english", "input": "hi", "voice": "autumn",
                                       "response_format": "wav"}


@pytest_asyncio.fixture
async def provider_call():
    transport = ProviderTransport()
    try:
        yield ProviderCall(transport)
    finally:
        await transport.aclose()


async def test_media_hosts_groq_transcribes_against_the_fake_and_refuses_images(provider_call, upstream):
    ctx = t.CallContext("trace", target=t.Target("groq", "sk-test", base_url=upstream.base_url))
    answer = await provider_call.transcribe(TranscriptionRequest(b"RIFF", "a.wav", "whisper-large-v3"), ctx)
    assert answer.text == "transcribed 4 bytes of a.wav" and upstream.requests[-1].path == "/v1/audio/transcriptions"
    with pytest.raises(e.InvalidRequest, match="groq does not support image generation"):
        await provider_call.generate_images(ImageRequest("m", "x"), ctx)
    assert len(upstream.requests) == 1


# --- Azure OpenAI: the gateway sends what the official SDK sends -----------------------------------------------------


@pytest.fixture
def azure_sdk(upstream):
    with AzureOpenAI(azure_endpoint=upstream.origin, api_key="sk-test", api_version=DEFAULT_API_VERSION,
                     azure_deployment="dep1", max_retries=0) as client:
        yield client


def _azure_ctx(upstream) -> t.CallContext:
    return t.CallContext("trace", target=t.Target("azure-openai", "sk-test", base_url=upstream.origin,
                                                  provider_options={"deployment_id": "dep1"}))


def _wire(record) -> tuple:
    """What must agree between the SDK's request and ours: method, path, query, auth, body."""
    kind = record.headers["content-type"].split(";")[0]
    return (record.method, record.path, record.query, record.headers.get("api-key"), kind, record.json,
            record.oracle_errors)


async def test_media_hosts_azure_images_as_the_sdk_sends_them(provider_call, upstream, azure_sdk):
    azure_sdk.images.generate(model="dall-e-3", prompt="a fox", size="1024x1024", response_format="b64_json")
    answer = await provider_call.generate_images(ImageRequest("dall-e-3", "a fox", {
        "size": "1024x1024", "response_format": "b64_json"}), _azure_ctx(upstream))
    sdk, ours = upstream.requests
    assert _wire(ours) == _wire(sdk)
    assert ours.path == "/openai/deployments/dep1/images/generations" and [i.data for i in answer.images] == [PNG]


async def test_media_hosts_azure_speech_as_the_sdk_sends_it(provider_call, upstream, azure_sdk):
    azure_sdk.audio.speech.create(model="tts-1", input="hi", voice="alloy", response_format="aac").read()
    chunks = [c async for c in provider_call.speak(SpeechRequest("tts-1", "hi", "alloy", {"response_format": "aac"}),
                                                   _azure_ctx(upstream))]
    sdk, ours = upstream.requests
    assert _wire(ours) == _wire(sdk) and ours.path == "/openai/deployments/dep1/audio/speech"
    assert b"".join(c.data for c in chunks) == AUDIO and chunks[0].content_type == "audio/aac"


@pytest.mark.parametrize("translate", [False, True])
async def test_media_hosts_azure_transcription_as_the_sdk_sends_it(provider_call, upstream, azure_sdk, translate):
    api = azure_sdk.audio.translations if translate else azure_sdk.audio.transcriptions
    api.create(model="whisper-1", file=("clip.wav", b"RIFF1234"), prompt="hello", response_format="json")
    request = TranscriptionRequest(b"RIFF1234", "clip.wav", "whisper-1", translate,
                                   {"prompt": "hello", "response_format": "json"})
    answer = await provider_call.transcribe(request, _azure_ctx(upstream))
    sdk, ours = upstream.requests
    assert _wire(ours) == _wire(sdk) and ours.path.endswith("/translations" if translate else "/transcriptions")
    assert answer.text == f"{'translated' if translate else 'transcribed'} 8 bytes of clip.wav"


async def test_media_hosts_azure_image_through_the_grpc_server(gateway, upstream):
    request = media_pb2.CreateImageRequest(model="dall-e-3", prompt="a fox", response_format="b64_json",
                                           options=options_pb2.RequestOptions(provider="azure-openai",
                                                                              custom_host=upstream.origin))
    metadata = (("authorization", "Bearer sk-test"), ("x-portkey-azure-deployment-id", "img"),
                ("x-portkey-azure-api-version", "2025-04-01-preview"))
    answer = await gateway.CreateImage(request, metadata=metadata)
    assert [i.data for i in answer.data] == [PNG] and answer.provider == "azure-openai"
    sent = upstream.requests[-1]
    assert (sent.path, sent.query, sent.headers["api-key"]) == (
        "/openai/deployments/img/images/generations", {"api-version": "2025-04-01-preview"}, "sk-test")
