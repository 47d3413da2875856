from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GuardrailReport(_message.Message):
    __slots__ = ("before_request_hooks", "after_request_hooks", "failed")
    BEFORE_REQUEST_HOOKS_FIELD_NUMBER: _ClassVar[int]
    AFTER_REQUEST_HOOKS_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    before_request_hooks: _containers.RepeatedCompositeFieldContainer[HookResult]
    after_request_hooks: _containers.RepeatedCompositeFieldContainer[HookResult]
    failed: bool
    def __init__(self, before_request_hooks: _Optional[_Iterable[_Union[HookResult, _Mapping]]] = ..., after_request_hooks: _Optional[_Iterable[_Union[HookResult, _Mapping]]] = ..., failed: _Optional[bool] = ...) -> None: ...

class HookResult(_message.Message):
    __slots__ = ("id", "verdict", "deny", "is_async", "type", "checks", "transformed", "feedback", "execution_time_ms", "created_at", "skipped")
    ID_FIELD_NUMBER: _ClassVar[int]
    VERDICT_FIELD_NUMBER: _ClassVar[int]
    DENY_FIELD_NUMBER: _ClassVar[int]
    IS_ASYNC_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    CHECKS_FIELD_NUMBER: _ClassVar[int]
    TRANSFORMED_FIELD_NUMBER: _ClassVar[int]
    FEEDBACK_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_TIME_MS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    SKIPPED_FIELD_NUMBER: _ClassVar[int]
    id: str
    verdict: bool
    deny: bool
    is_async: bool
    type: str
    checks: _containers.RepeatedCompositeFieldContainer[CheckResult]
    transformed: bool
    feedback: _struct_pb2.Struct
    execution_time_ms: float
    created_at: str
    skipped: bool
    def __init__(self, id: _Optional[str] = ..., verdict: _Optional[bool] = ..., deny: _Optional[bool] = ..., is_async: _Optional[bool] = ..., type: _Optional[str] = ..., checks: _Optional[_Iterable[_Union[CheckResult, _Mapping]]] = ..., transformed: _Optional[bool] = ..., feedback: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., execution_time_ms: _Optional[float] = ..., created_at: _Optional[str] = ..., skipped: _Optional[bool] = ...) -> None: ...

class CheckResult(_message.Message):
    __slots__ = ("id", "verdict", "data", "error", "execution_time_ms", "created_at", "transformed", "fail_on_error", "skipped")
    ID_FIELD_NUMBER: _ClassVar[int]
    VERDICT_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_TIME_MS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    TRANSFORMED_FIELD_NUMBER: _ClassVar[int]
    FAIL_ON_ERROR_FIELD_NUMBER: _ClassVar[int]
    SKIPPED_FIELD_NUMBER: _ClassVar[int]
    id: str
    verdict: bool
    data: _struct_pb2.Value
    error: CheckError
    execution_time_ms: float
    created_at: str
    transformed: bool
    fail_on_error: bool
    skipped: bool
    def __init__(self, id: _Optional[str] = ..., verdict: _Optional[bool] = ..., data: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., error: _Optional[_Union[CheckError, _Mapping]] = ..., execution_time_ms: _Optional[float] = ..., created_at: _Optional[str] = ..., transformed: _Optional[bool] = ..., fail_on_error: _Optional[bool] = ..., skipped: _Optional[bool] = ...) -> None: ...

class CheckError(_message.Message):
    __slots__ = ("name", "message")
    NAME_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    name: str
    message: str
    def __init__(self, name: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...
