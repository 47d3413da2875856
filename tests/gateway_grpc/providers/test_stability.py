"""Stability AI (providers/stability.py): the model picks the endpoint, OpenAI's parameters become Stability's form
fields (every encoded form checked against the fake's table of the documented fields), answers and errors decode
from the reference's documented shapes; then through the real transport and the gRPC server against the fake."""

from __future__ import annotations

import base64

import grpc
import orjson
import pytest
import pytest_asyncio

from gateway_grpc import errors as e
from gateway_grpc import types as t
from gateway_grpc.media import ImageRequest, SpeechRequest, TranscriptionRequest
from gateway_grpc.providers import PROVIDERS
from gateway_grpc.providers.call import ProviderCall
from gateway_grpc.providers.stability import ASPECT_RATIOS, StabilityAI, aspect_ratio
from gateway_grpc.providers.transport import ProviderTransport
from gateway_grpc.v1 import media_pb2, options_pb2
from tests.fakes.stability_upstream import IMAGES, FakeStability, field_errors
from tests.gateway_grpc.providers.test_openai_media import multipart_fields

STABILITY = StabilityAI(clock=lambda: 1700000000.5)
TARGET = t.Target("stability-ai", "sk-stab")
BASE = "https://api.stability.ai/v2beta/stable-image/generate"


def _form(call) -> dict[str, str]:
    fields = multipart_fields(call)
    assert all(len(values) == 1 for values in fields.values()), "every field once"
    return {name: values[0] for name, values in fields.items()}


ENDPOINTS = [  # model -> URL, and the `model` form field (sd3 only)
    ("stable-image-core", f"{BASE}/core", None),
    ("core", f"{BASE}/core", None),
    ("stable-image-ultra", f"{BASE}/ultra", None),
    ("ultra", f"{BASE}/ultra", None),
    ("sd3.5-large", f"{BASE}/sd3", "sd3.5-large"),
    ("sd3.5-large-turbo", f"{BASE}/sd3", "sd3.5-large-turbo"),
    ("sd3-medium", f"{BASE}/sd3", "sd3-medium"),
]


@pytest.mark.parametrize(("model", "url", "model_field"), ENDPOINTS)
def test_stability_model_picks_the_endpoint(model, url, model_field):
    call = STABILITY.encode_images(ImageRequest(model, "a red fox"), TARGET)
    form = _form(call)
    assert (call.method, call.url, form.get("model"), form["prompt"]) == ("POST", url, model_field, "a red fox")
    assert call.headers["authorization"] == "Bearer sk-stab" and call.headers["accept"] == "application/json"
    assert call.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert field_errors(url.rsplit("/", 1)[1], list(form.items()), []) == []


SIZES = [
    ("1024x1024", "1:1"), ("512x512", "1:1"), ("256x256", "1:1"), ("1536x1024", "3:2"), ("1024x1536", "2:3"),
    ("1792x1024", "16:9"), ("1024x1792", "9:16"), ("2560x1080", "21:9"), ("1080x2520", "9:21"), ("1280x1024", "5:4"),
    ("1024x1280", "4:5"), ("auto", None),
]


@pytest.mark.parametrize(("size", "ratio"), SIZES)
def test_stability_size_becomes_the_nearest_aspect_ratio(size, ratio):
    assert aspect_ratio(size) == ratio
    form = _form(STABILITY.encode_images(ImageRequest("core", "x", {"size": size}), TARGET))
    assert form.get("aspect_ratio") == ratio


def test_stability_every_aspect_ratio_maps_to_itself():
    for ratio in ASPECT_RATIOS:
        width, height = ratio.split(":")
        assert aspect_ratio(f"{int(width) * 100}x{int(height) * 100}") == ratio


FORMS = [  # (model, params, extra) -> form fields besides prompt/model, all valid for the fake's documented table
    ("core", {"n": 1, "response_format": "b64_json", "output_format": "webp"}, {"negative_prompt": "blurry", "seed": 7,
                                                                               "style_preset": "anime"},
     {"output_format": "webp", "negative_prompt": "blurry", "seed": "7", "style_preset": "anime"}),
    ("stable-image-ultra", {"size": "1792x1024"}, {"seed": 0}, {"aspect_ratio": "16:9", "seed": "0"}),
    ("sd3.5-medium", {"output_format": "jpeg"}, {"cfg_scale": 4.5, "aspect_ratio": "9:21"},
     {"output_format": "jpeg", "cfg_scale": "4.5", "aspect_ratio": "9:21"}),
    ("core", {}, {"seed": None}, {}),  # JSON null: Stability's default
]


@pytest.mark.parametrize(("model", "params", "extra", "expected"), FORMS)
def test_stability_openai_params_and_extras_become_documented_form_fields(model, params, extra, expected):
    call = STABILITY.encode_images(ImageRequest(model, "a fox", params, extra), TARGET)
    form = _form(call)
    endpoint = call.url.rsplit("/", 1)[1]
    assert {k: v for k, v in form.items() if k not in ("prompt", "model")} == expected
    assert field_errors(endpoint, list(form.items()), []) == []


REFUSED = [  # (model, params, extra, override_params) -> (field, description start)
    ("dall-e-3", {}, {}, {}, ("model", "stability-ai has no stable-image endpoint for 'dall-e-3'")),
    ("core", {"n": 2}, {}, {}, ("n", "stability-ai returns one image per call")),
    ("core", {"response_format": "url"}, {}, {}, ("response_format", "stability-ai returns image bytes")),
    ("core", {"quality": "hd"}, {}, {}, ("quality", "stability-ai does not support quality")),
    ("core", {"style": "vivid"}, {}, {}, ("style", "stability-ai does not support style")),
    ("core", {"background": "transparent"}, {}, {}, ("background", "stability-ai does not support background")),
    ("core", {}, {"cfg_scale": 5}, {}, ("cfg_scale", "stability-ai does not support cfg_scale (generate/core")),
    ("ultra", {}, {"image": "…", "strength": 0.5}, {}, ("image", "stability-ai does not support image")),
    ("core", {"size": "1024x1024"}, {"aspect_ratio": "1:1"}, {}, ("size", "stability-ai takes size or aspect_ratio")),
    ("core", {"size": "big"}, {}, {}, ("size", "size 'big' is not WIDTHxHEIGHT or auto")),
    ("core", {}, {}, {"n": 3}, ("n", "stability-ai returns one image per call")),  # override_params too
]


@pytest.mark.parametrize(("model", "params", "extra", "override", "violation"), REFUSED)
def test_stability_refuses_what_it_cannot_do_naming_the_field(model, params, extra, override, violation):
    target = t.Target("stability-ai", "k", override_params=override)
    with pytest.raises(e.InvalidRequest) as caught:
        STABILITY.encode_images(ImageRequest(model, "x", params, extra), target)
    ((field, description),) = [(v.field, v.description) for v in caught.value.violations]
    assert field == violation[0] and description.startswith(violation[1])


def test_stability_user_custom_host_and_forwarded_headers():
    target = t.Target("stability-ai", "", base_url="http://127.0.0.1:9/", forward_headers={"x-trace": "1"})
    call = STABILITY.encode_images(ImageRequest("core", "x", {"user": "u-42"}), target)
    assert call.url == "http://127.0.0.1:9/v2beta/stable-image/generate/core"
    assert call.headers["stability-client-user-id"] == "u-42" and call.headers["x-trace"] == "1"
    assert "authorization" not in call.headers and "user" not in _form(call)


def test_stability_documented_answer_decodes_to_image_bytes():
    raw = {"image": base64.b64encode(IMAGES["png"]).decode(), "finish_reason": "SUCCESS", "seed": 343940597}
    answer = STABILITY.decode_images(orjson.dumps(raw))
    assert answer.created == 1700000000 and [i.data for i in answer.images] == [IMAGES["png"]]


@pytest.mark.parametrize("body", [b'{"finish_reason": "SUCCESS"}', b'{"image": "***"}', b"[1]", b"<html>"])
def test_stability_bad_answer_is_a_bad_response(body):
    with pytest.raises(e.ProviderBadResponse):
        STABILITY.decode_images(body)


def test_stability_content_filtered_answer_is_a_rejection_not_an_image():
    raw = {"image": base64.b64encode(b"blurred").decode(), "finish_reason": "CONTENT_FILTERED", "seed": 1}
    with pytest.raises(e.ProviderRejected) as caught:
        STABILITY.decode_images(orjson.dumps(raw))
    assert (caught.value.status, caught.value.code) == (400, "content_policy_violation")


ERRORS = [  # (status, body, headers) -> (kind, message, error_type, retry_after)
    (400, {"id": "a1b2", "name": "bad_request", "errors": ["prompt: is required", "seed: must be an integer"]}, {},
     (e.ProviderRejected, "stability-ai error: prompt: is required, seed: must be an integer (error id a1b2)",
      "bad_request", None)),
    (403, {"id": "c3", "name": "content_moderation", "errors": ["Your request was flagged"]}, {},
     (e.ProviderRejected, "stability-ai error: Your request was flagged (error id c3)", "content_moderation", None)),
    (429, {"id": "d4", "name": "rate_limit_exceeded", "errors": ["slow down"]}, {"retry-after": "3"},
     (e.RateLimited, "stability-ai error: slow down (error id d4)", "rate_limit_exceeded", 3.0)),
    (500, {"name": "internal_error", "message": "oops"}, {}, (e.ProviderRejected, "stability-ai error: oops",
                                                               "internal_error", None)),
    (502, b"<html>Bad Gateway</html>", {}, (e.ProviderRejected, "stability-ai error: <html>Bad Gateway</html>", "",
                                            None)),
]


@pytest.mark.parametrize(("status", "body", "headers", "expected"), ERRORS)
def test_stability_errors_decode_from_stabilitys_envelope(status, body, headers, expected):
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    error = STABILITY.decode_error(status, raw, headers)
    assert (type(error), error.message, error.error_type, error.retry_after) == expected
    assert error.status == status and error.provider == "stability-ai"


@pytest.mark.parametrize(("call", "what"), [
    (lambda p: p.encode_chat(t.ChatRequest("core", (t.Message("user", "hi"),)), TARGET, stream=False),
     "chat completions"),
    (lambda p: p.chat_stream_decoder(), "chat completions"),
    (lambda p: p.decode_chat(b"{}"), "chat completions"),
    (lambda p: p.encode_embeddings(t.EmbeddingsRequest("core", ("a",)), TARGET), "embeddings"),
    (lambda p: p.decode_embeddings(b"{}"), "embeddings"),
    (lambda p: p.encode_list_models(TARGET), "listing models"),
    (lambda p: p.decode_list_models(b"{}"), "listing models"),
])
def test_stability_chat_embeddings_and_models_are_400s_naming_it(call, what):
    with pytest.raises(e.InvalidRequest) as caught:
        call(PROVIDERS["stability-ai"])
    assert str(caught.value) == f"model: stability-ai does not support {what}"


# --- against the fake, through the transport and the gRPC server -------------------------------------------------


@pytest.fixture(scope="module")
def stability():
    with FakeStability() as fake:
        yield fake


@pytest.fixture
def fake(stability):
    stability.clear()
    return stability


@pytest_asyncio.fixture
async def provider_call():
    transport = ProviderTransport()
    try:
        yield ProviderCall(transport)
    finally:
        await transport.aclose()


def _ctx(fake, key: str = "sk-test") -> t.CallContext:
    return t.CallContext("trace", target=t.Target("stability-ai", key, base_url=fake.origin))


async def test_stability_generates_against_the_fake(provider_call, fake):
    request = ImageRequest("sd3.5-large", "a fox", {"size": "1024x1792", "output_format": "jpeg"}, {"seed": 9})
    answer = await provider_call.generate_images(request, _ctx(fake))
    assert [i.data for i in answer.images] == [IMAGES["jpeg"]]
    sent = fake.requests[-1]
    assert sent.path == "/v2beta/stable-image/generate/sd3" and sent.headers["authorization"] == "Bearer sk-test"
    assert sent.json == {"prompt": "a fox", "output_format": "jpeg", "seed": "9", "aspect_ratio": "9:16",
                         "model": "sd3.5-large"}


@pytest.mark.parametrize(("prompt", "key", "kind", "status"), [
    ("a fox+error-429+retry-after-1", "sk-test", e.RateLimited, 429),
    ("a fox+error-403", "sk-test", e.ProviderRejected, 403),
    ("a fox+filtered", "sk-test", e.ProviderRejected, 400),
    ("a fox", "sk-bad", e.ProviderRejected, 401),
])
async def test_stability_fake_errors_become_typed_errors(provider_call, fake, prompt, key, kind, status):
    with pytest.raises(kind) as caught:
        await provider_call.generate_images(ImageRequest("core", prompt), _ctx(fake, key))
    assert caught.value.status == status


@pytest.mark.parametrize(("call", "feature"), [
    (lambda pc, ctx: pc.speak(SpeechRequest("core", "hi", "alloy"), ctx).__anext__(), "text to speech"),
    (lambda pc, ctx: pc.transcribe(TranscriptionRequest(b"RIFF", "a.wav", "core"), ctx),
     "audio transcription and translation"),
])
async def test_stability_has_no_audio(provider_call, fake, call, feature):
    with pytest.raises(e.InvalidRequest, match=f"stability-ai does not support {feature}"):
        await call(provider_call, _ctx(fake))
    assert fake.requests == []


async def test_stability_through_the_grpc_server(gateway, fake):
    options = options_pb2.RequestOptions(provider="stability-ai", custom_host=fake.origin)
    request = media_pb2.CreateImageRequest(model="stable-image-ultra", prompt="a fox", size="1536x1024",
                                           response_format="b64_json", options=options)
    answer = await gateway.CreateImage(request, metadata=(("authorization", "Bearer sk-test"),))
    assert [i.data for i in answer.data] == [IMAGES["png"]] and answer.provider == "stability-ai"
    assert fake.requests[-1].json == {"prompt": "a fox", "aspect_ratio": "3:2"}
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await gateway.CreateImage(media_pb2.CreateImageRequest(model="core", prompt="x", n=2, options=options),
                                  metadata=(("authorization", "Bearer sk-test"),))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "n: stability-ai returns one image per call" in caught.value.details()
