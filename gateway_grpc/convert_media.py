"""Proto <-> neutral for images and audio (media.proto <-> media.py); convert.py does chat, embeddings and options.
With convert.py and service.py, the only modules that touch pb2 classes."""

from __future__ import annotations

from typing import Any

from gateway_grpc import media as m
from gateway_grpc.convert import from_struct
from gateway_grpc.v1 import chat_pb2, media_pb2


def set_fields(msg: Any, names: tuple[str, ...]) -> dict[str, Any]:
    """The named optional fields the caller set (empty strings and unset `optional`s are "not set")."""
    values: dict[str, Any] = {}
    for name in names:
        value = getattr(msg, name)
        if isinstance(value, str) and not value:
            continue
        if not isinstance(value, str) and msg.DESCRIPTOR.fields_by_name[name].has_presence and not msg.HasField(name):
            continue
        values[name] = list(value) if name == "timestamp_granularities" else value
    return values


def extra_of(msg: Any) -> dict[str, Any]:
    return from_struct(msg.extra) if msg.HasField("extra") else {}


def image_request(msg: media_pb2.CreateImageRequest) -> m.ImageRequest:
    names = ("n", "size", "quality", "style", "response_format", "background", "output_format", "user")
    params = set_fields(msg, names)
    return m.ImageRequest(msg.model, msg.prompt, params, extra_of(msg))


def speech_request(msg: media_pb2.CreateSpeechRequest) -> m.SpeechRequest:
    params = set_fields(msg, ("response_format", "speed", "instructions"))
    return m.SpeechRequest(msg.model, msg.input, msg.voice, params, extra_of(msg))


def transcription_request(msg: media_pb2.CreateTranscriptionRequest | media_pb2.CreateTranslationRequest,
                          translate: bool) -> m.TranscriptionRequest:
    names = ("prompt", "response_format", "temperature")
    if not translate:
        names += ("language", "timestamp_granularities")
    params = set_fields(msg, names)
    if not params.get("timestamp_granularities", True):
        del params["timestamp_granularities"]
    return m.TranscriptionRequest(msg.file, msg.filename, msg.model, translate, params, extra_of(msg))


def image_response(resp: m.ImageResponse, provider: str) -> media_pb2.CreateImageResponse:
    out = media_pb2.CreateImageResponse(created=resp.created, provider=provider, data=[
        media_pb2.GeneratedImage(url=i.url, data=i.data, revised_prompt=i.revised_prompt) for i in resp.images])
    if resp.usage is not None:
        out.usage.CopyFrom(chat_pb2.Usage(prompt_tokens=resp.usage.prompt_tokens,
                                          completion_tokens=resp.usage.completion_tokens,
                                          total_tokens=resp.usage.total_tokens))
    return out


def speech_chunk(chunk: m.SpeechChunk, provider: str, first: bool) -> media_pb2.CreateSpeechResponse:
    if first:
        return media_pb2.CreateSpeechResponse(audio=chunk.data, content_type=chunk.content_type, provider=provider)
    return media_pb2.CreateSpeechResponse(audio=chunk.data)


def _audio_text(out: Any, resp: m.TranscriptionResponse) -> Any:
    """The fields transcriptions and translations share, filled in."""
    if resp.duration is not None:
        out.duration = resp.duration
    if resp.extra:
        out.extra.update(resp.extra)
    return out


def transcription_response(resp: m.TranscriptionResponse, provider: str) -> media_pb2.CreateTranscriptionResponse:
    return _audio_text(media_pb2.CreateTranscriptionResponse(text=resp.text, language=resp.language,
                                                             provider=provider, raw=resp.raw), resp)


def translation_response(resp: m.TranscriptionResponse, provider: str) -> media_pb2.CreateTranslationResponse:
    return _audio_text(media_pb2.CreateTranslationResponse(text=resp.text, provider=provider, raw=resp.raw), resp)
