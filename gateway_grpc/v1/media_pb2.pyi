from gateway_grpc.v1 import chat_pb2 as _chat_pb2
from gateway_grpc.v1 import options_pb2 as _options_pb2
from gateway_grpc.v1 import routing_pb2 as _routing_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CreateImageRequest(_message.Message):
    __slots__ = ("model", "prompt", "n", "size", "quality", "style", "response_format", "background", "output_format", "user", "extra", "options")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    N_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    QUALITY_FIELD_NUMBER: _ClassVar[int]
    STYLE_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_FORMAT_FIELD_NUMBER: _ClassVar[int]
    BACKGROUND_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FORMAT_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    EXTRA_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    model: str
    prompt: str
    n: int
    size: str
    quality: str
    style: str
    response_format: str
    background: str
    output_format: str
    user: str
    extra: _struct_pb2.Struct
    options: _options_pb2.RequestOptions
    def __init__(self, model: _Optional[str] = ..., prompt: _Optional[str] = ..., n: _Optional[int] = ..., size: _Optional[str] = ..., quality: _Optional[str] = ..., style: _Optional[str] = ..., response_format: _Optional[str] = ..., background: _Optional[str] = ..., output_format: _Optional[str] = ..., user: _Optional[str] = ..., extra: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., options: _Optional[_Union[_options_pb2.RequestOptions, _Mapping]] = ...) -> None: ...

class GeneratedImage(_message.Message):
    __slots__ = ("url", "data", "revised_prompt")
    URL_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    REVISED_PROMPT_FIELD_NUMBER: _ClassVar[int]
    url: str
    data: bytes
    revised_prompt: str
    def __init__(self, url: _Optional[str] = ..., data: _Optional[bytes] = ..., revised_prompt: _Optional[str] = ...) -> None: ...

class CreateImageResponse(_message.Message):
    __slots__ = ("created", "data", "usage", "provider", "routing")
    CREATED_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    ROUTING_FIELD_NUMBER: _ClassVar[int]
    created: int
    data: _containers.RepeatedCompositeFieldContainer[GeneratedImage]
    usage: _chat_pb2.Usage
    provider: str
    routing: _routing_pb2.RoutingSummary
    def __init__(self, created: _Optional[int] = ..., data: _Optional[_Iterable[_Union[GeneratedImage, _Mapping]]] = ..., usage: _Optional[_Union[_chat_pb2.Usage, _Mapping]] = ..., provider: _Optional[str] = ..., routing: _Optional[_Union[_routing_pb2.RoutingSummary, _Mapping]] = ...) -> None: ...

class CreateSpeechRequest(_message.Message):
    __slots__ = ("model", "input", "voice", "response_format", "speed", "instructions", "extra", "options")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    VOICE_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_FORMAT_FIELD_NUMBER: _ClassVar[int]
    SPEED_FIELD_NUMBER: _ClassVar[int]
    INSTRUCTIONS_FIELD_NUMBER: _ClassVar[int]
    EXTRA_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    model: str
    input: str
    voice: str
    response_format: str
    speed: float
    instructions: str
    extra: _struct_pb2.Struct
    options: _options_pb2.RequestOptions
    def __init__(self, model: _Optional[str] = ..., input: _Optional[str] = ..., voice: _Optional[str] = ..., response_format: _Optional[str] = ..., speed: _Optional[float] = ..., instructions: _Optional[str] = ..., extra: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., options: _Optional[_Union[_options_pb2.RequestOptions, _Mapping]] = ...) -> None: ...

class CreateSpeechResponse(_message.Message):
    __slots__ = ("audio", "content_type", "provider", "routing")
    AUDIO_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    ROUTING_FIELD_NUMBER: _ClassVar[int]
    audio: bytes
    content_type: str
    provider: str
    routing: _routing_pb2.RoutingSummary
    def __init__(self, audio: _Optional[bytes] = ..., content_type: _Optional[str] = ..., provider: _Optional[str] = ..., routing: _Optional[_Union[_routing_pb2.RoutingSummary, _Mapping]] = ...) -> None: ...

class CreateTranscriptionRequest(_message.Message):
    __slots__ = ("file", "filename", "model", "language", "prompt", "response_format", "temperature", "timestamp_granularities", "extra", "options")
    FILE_FIELD_NUMBER: _ClassVar[int]
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_FORMAT_FIELD_NUMBER: _ClassVar[int]
    TEMPERATURE_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_GRANULARITIES_FIELD_NUMBER: _ClassVar[int]
    EXTRA_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    file: bytes
    filename: str
    model: str
    language: str
    prompt: str
    response_format: str
    temperature: float
    timestamp_granularities: _containers.RepeatedScalarFieldContainer[str]
    extra: _struct_pb2.Struct
    options: _options_pb2.RequestOptions
    def __init__(self, file: _Optional[bytes] = ..., filename: _Optional[str] = ..., model: _Optional[str] = ..., language: _Optional[str] = ..., prompt: _Optional[str] = ..., response_format: _Optional[str] = ..., temperature: _Optional[float] = ..., timestamp_granularities: _Optional[_Iterable[str]] = ..., extra: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., options: _Optional[_Union[_options_pb2.RequestOptions, _Mapping]] = ...) -> None: ...

class CreateTranscriptionResponse(_message.Message):
    __slots__ = ("text", "language", "duration", "extra", "provider", "routing", "raw")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    DURATION_FIELD_NUMBER: _ClassVar[int]
    EXTRA_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    ROUTING_FIELD_NUMBER: _ClassVar[int]
    RAW_FIELD_NUMBER: _ClassVar[int]
    text: str
    language: str
    duration: float
    extra: _struct_pb2.Struct
    provider: str
    routing: _routing_pb2.RoutingSummary
    raw: str
    def __init__(self, text: _Optional[str] = ..., language: _Optional[str] = ..., duration: _Optional[float] = ..., extra: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., provider: _Optional[str] = ..., routing: _Optional[_Union[_routing_pb2.RoutingSummary, _Mapping]] = ..., raw: _Optional[str] = ...) -> None: ...

class CreateTranslationRequest(_message.Message):
    __slots__ = ("file", "filename", "model", "prompt", "response_format", "temperature", "extra", "options")
    FILE_FIELD_NUMBER: _ClassVar[int]
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_FORMAT_FIELD_NUMBER: _ClassVar[int]
    TEMPERATURE_FIELD_NUMBER: _ClassVar[int]
    EXTRA_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    file: bytes
    filename: str
    model: str
    prompt: str
    response_format: str
    temperature: float
    extra: _struct_pb2.Struct
    options: _options_pb2.RequestOptions
    def __init__(self, file: _Optional[bytes] = ..., filename: _Optional[str] = ..., model: _Optional[str] = ..., prompt: _Optional[str] = ..., response_format: _Optional[str] = ..., temperature: _Optional[float] = ..., extra: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., options: _Optional[_Union[_options_pb2.RequestOptions, _Mapping]] = ...) -> None: ...

class CreateTranslationResponse(_message.Message):
    __slots__ = ("text", "duration", "extra", "provider", "routing", "raw")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    DURATION_FIELD_NUMBER: _ClassVar[int]
    EXTRA_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    ROUTING_FIELD_NUMBER: _ClassVar[int]
    RAW_FIELD_NUMBER: _ClassVar[int]
    text: str
    duration: float
    extra: _struct_pb2.Struct
    provider: str
    routing: _routing_pb2.RoutingSummary
    raw: str
    def __init__(self, text: _Optional[str] = ..., duration: _Optional[float] = ..., extra: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., provider: _Optional[str] = ..., routing: _Optional[_Union[_routing_pb2.RoutingSummary, _Mapping]] = ..., raw: _Optional[str] = ...) -> None: ...
