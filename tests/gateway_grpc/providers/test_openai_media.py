"""OpenAI images and audio translation: request bodies checked by the OpenAI SDK's strict request types, answers
built from fixtures the SDK's response models accept, multipart bodies parsed back field by field."""

import base64
import email.parser
import email.policy

import orjson
import pytest
from openai.types import ImagesResponse, audio, image_generate_params
from openai.types.audio import speech_create_params, transcription_create_params, translation_create_params

from gateway_grpc.errors import ProviderBadResponse
from gateway_grpc.media import ImageRequest, SpeechRequest, TranscriptionRequest
from gateway_grpc.providers import PROVIDERS
from gateway_grpc.types import Target
from tests import oracles

OPENAI = PROVIDERS["openai"]
TARGET = Target("openai", api_key="sk-test", override_params={"user": "u-1"})


@pytest.mark.parametrize(
    "request_",
    [
        ImageRequest("dall-e-3", "a red fox", {"n": 1, "size": "1024x1024", "quality": "hd", "style": "vivid"}),
        ImageRequest("gpt-image-1", "a logo", {"background": "transparent", "output_format": "png"}),
        ImageRequest("dall-e-2", "a cat", {"response_format": "b64_json"}),
    ],
)
def test_openai_images_request_is_a_valid_openai_body(request_):
    call = OPENAI.encode_images(request_, TARGET)
    body = orjson.loads(call.body)
    assert call.url == "https://api.openai.com/v1/images/generations"
    assert oracles.request_errors(image_generate_params.ImageGenerateParams, body) == []
    assert body["prompt"] == request_.prompt and body["user"] == "u-1"  # override_params merged over the body


def test_openai_images_answer_decodes_urls_and_base64_bytes():
    png = b"\x89PNG\r\n\x1a\n-pixels-"
    raw = {"created": 1700000000, "data": [{"url": "https://img.example/1.png", "revised_prompt": "a fox"},
                                           {"b64_json": base64.b64encode(png).decode()}],
           "usage": {"input_tokens": 5, "output_tokens": 7, "total_tokens": 12,
                     "input_tokens_details": {"image_tokens": 0, "text_tokens": 5}}}
    ImagesResponse.model_validate(raw)  # the fixture is what OpenAI sends
    answer = OPENAI.decode_images(orjson.dumps(raw))
    assert [(i.url, i.data, i.revised_prompt) for i in answer.images] == [
        ("https://img.example/1.png", b"", "a fox"), ("", png, "")]
    assert answer.created == 1700000000


@pytest.mark.parametrize("body", [b'{"data": [{"b64_json": "***"}]}', b'{"created": 1}', b"<html>"])
def test_openai_images_bad_answer_is_a_bad_response(body):
    with pytest.raises(ProviderBadResponse):
        OPENAI.decode_images(body)


def test_openai_speech_request_is_a_valid_openai_body():
    request = SpeechRequest("gpt-4o-mini-tts", "hello", "alloy", {"response_format": "opus", "speed": 1.25,
                                                                   "instructions": "cheerful"})
    call = OPENAI.encode_speech(request, Target("openai", api_key="sk-test"))
    assert call.url.endswith("/audio/speech") and call.headers["accept"] == "*/*"
    assert oracles.request_errors(speech_create_params.SpeechCreateParams, orjson.loads(call.body)) == []


def multipart_fields(call) -> dict[str, list]:
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"content-type: " + call.headers["content-type"].encode() + b"\r\n\r\n" + call.body)
    fields: dict[str, list] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        value = part.get_content()
        fields.setdefault(name, []).append((part.get_filename(), value) if part.get_filename() else value)
    return fields


@pytest.mark.parametrize("translate", [False, True])
def test_openai_transcription_is_multipart_with_every_field(translate):
    params = {"prompt": "names: Ada", "response_format": "verbose_json", "temperature": 0.2}
    if not translate:
        params |= {"language": "en", "timestamp_granularities": ["word", "segment"]}
    request = TranscriptionRequest(b"RIFF-audio", "clip.wav", "whisper-1", translate, params)
    call = OPENAI.encode_transcription(request, Target("openai", api_key="sk-test"))
    fields = multipart_fields(call)
    assert call.url.endswith("/audio/translations" if translate else "/audio/transcriptions")
    assert fields["file"] == [("clip.wav", b"RIFF-audio")]
    assert fields["model"] == ["whisper-1"] and fields["temperature"] == ["0.2"]
    if not translate:
        assert fields["timestamp_granularities[]"] == ["word", "segment"]
    oracle = translation_create_params.TranslationCreateParams if translate else \
        transcription_create_params.TranscriptionCreateParamsNonStreaming
    typed = {"file": b"RIFF-audio", "model": "whisper-1", **params}
    assert oracles.request_errors(oracle, typed) == []


def test_openai_transcription_answers_json_and_text():
    raw = {"text": "hello there", "language": "english", "duration": 1.5,
           "segments": [{"id": 0, "seek": 0, "start": 0.0, "end": 1.5, "text": "hello there", "tokens": [1, 2],
                         "temperature": 0.0, "avg_logprob": -0.1, "compression_ratio": 1.0, "no_speech_prob": 0.01}]}
    audio.TranscriptionVerbose.model_validate(raw)
    answer = OPENAI.decode_transcription(orjson.dumps(raw), "application/json")
    assert (answer.text, answer.language, answer.duration) == ("hello there", "english", 1.5)
    assert answer.extra["segments"][0]["tokens"] == [1, 2]
    srt = "1\n00:00:00,000 --> 00:00:01,500\nhello there\n"
    text = OPENAI.decode_transcription(srt.encode(), "text/plain; charset=utf-8")
    assert (text.text, text.raw) == (srt, srt)
    with pytest.raises(ProviderBadResponse):
        OPENAI.decode_transcription(b'{"no_text": 1}', "application/json")

