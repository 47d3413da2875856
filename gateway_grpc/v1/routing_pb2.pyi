from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RoutingSummary(_message.Message):
    __slots__ = ("last_used_option_index", "retry_attempt_count", "provider", "attempts", "cache_status")
    LAST_USED_OPTION_INDEX_FIELD_NUMBER: _ClassVar[int]
    RETRY_ATTEMPT_COUNT_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    CACHE_STATUS_FIELD_NUMBER: _ClassVar[int]
    last_used_option_index: str
    retry_attempt_count: int
    provider: str
    attempts: _containers.RepeatedCompositeFieldContainer[RoutingAttempt]
    cache_status: str
    def __init__(self, last_used_option_index: _Optional[str] = ..., retry_attempt_count: _Optional[int] = ..., provider: _Optional[str] = ..., attempts: _Optional[_Iterable[_Union[RoutingAttempt, _Mapping]]] = ..., cache_status: _Optional[str] = ...) -> None: ...

class RoutingAttempt(_message.Message):
    __slots__ = ("target_path", "provider", "status", "reason", "message", "retry", "duration_ms")
    TARGET_PATH_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    RETRY_FIELD_NUMBER: _ClassVar[int]
    DURATION_MS_FIELD_NUMBER: _ClassVar[int]
    target_path: str
    provider: str
    status: int
    reason: str
    message: str
    retry: int
    duration_ms: float
    def __init__(self, target_path: _Optional[str] = ..., provider: _Optional[str] = ..., status: _Optional[int] = ..., reason: _Optional[str] = ..., message: _Optional[str] = ..., retry: _Optional[int] = ..., duration_ms: _Optional[float] = ...) -> None: ...
