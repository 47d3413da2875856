from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RequestOptions(_message.Message):
    __slots__ = ("provider", "custom_host", "trace_id", "metadata", "routing_config", "config_json", "config_id", "request_timeout_ms", "forward_headers", "strict_open_ai_compliance", "cache_force_refresh")
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    CUSTOM_HOST_FIELD_NUMBER: _ClassVar[int]
    TRACE_ID_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    ROUTING_CONFIG_FIELD_NUMBER: _ClassVar[int]
    CONFIG_JSON_FIELD_NUMBER: _ClassVar[int]
    CONFIG_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_TIMEOUT_MS_FIELD_NUMBER: _ClassVar[int]
    FORWARD_HEADERS_FIELD_NUMBER: _ClassVar[int]
    STRICT_OPEN_AI_COMPLIANCE_FIELD_NUMBER: _ClassVar[int]
    CACHE_FORCE_REFRESH_FIELD_NUMBER: _ClassVar[int]
    provider: str
    custom_host: str
    trace_id: str
    metadata: _struct_pb2.Struct
    routing_config: RoutingConfig
    config_json: str
    config_id: str
    request_timeout_ms: int
    forward_headers: _containers.RepeatedScalarFieldContainer[str]
    strict_open_ai_compliance: bool
    cache_force_refresh: bool
    def __init__(self, provider: _Optional[str] = ..., custom_host: _Optional[str] = ..., trace_id: _Optional[str] = ..., metadata: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., routing_config: _Optional[_Union[RoutingConfig, _Mapping]] = ..., config_json: _Optional[str] = ..., config_id: _Optional[str] = ..., request_timeout_ms: _Optional[int] = ..., forward_headers: _Optional[_Iterable[str]] = ..., strict_open_ai_compliance: _Optional[bool] = ..., cache_force_refresh: _Optional[bool] = ...) -> None: ...

class RoutingConfig(_message.Message):
    __slots__ = ("strategy", "targets", "name", "weight", "provider", "api_key", "custom_host", "override_params", "retry", "request_timeout", "cache", "forward_headers", "strict_open_ai_compliance", "before_request_hooks", "after_request_hooks", "input_guardrails", "output_guardrails", "provider_options")
    class ProviderOptionsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    STRATEGY_FIELD_NUMBER: _ClassVar[int]
    TARGETS_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    API_KEY_FIELD_NUMBER: _ClassVar[int]
    CUSTOM_HOST_FIELD_NUMBER: _ClassVar[int]
    OVERRIDE_PARAMS_FIELD_NUMBER: _ClassVar[int]
    RETRY_FIELD_NUMBER: _ClassVar[int]
    REQUEST_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    CACHE_FIELD_NUMBER: _ClassVar[int]
    FORWARD_HEADERS_FIELD_NUMBER: _ClassVar[int]
    STRICT_OPEN_AI_COMPLIANCE_FIELD_NUMBER: _ClassVar[int]
    BEFORE_REQUEST_HOOKS_FIELD_NUMBER: _ClassVar[int]
    AFTER_REQUEST_HOOKS_FIELD_NUMBER: _ClassVar[int]
    INPUT_GUARDRAILS_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_GUARDRAILS_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_OPTIONS_FIELD_NUMBER: _ClassVar[int]
    strategy: RoutingStrategy
    targets: _containers.RepeatedCompositeFieldContainer[RoutingConfig]
    name: str
    weight: float
    provider: str
    api_key: str
    custom_host: str
    override_params: _struct_pb2.Struct
    retry: RetryPolicy
    request_timeout: int
    cache: CachePolicy
    forward_headers: _containers.RepeatedScalarFieldContainer[str]
    strict_open_ai_compliance: bool
    before_request_hooks: _containers.RepeatedCompositeFieldContainer[_struct_pb2.Struct]
    after_request_hooks: _containers.RepeatedCompositeFieldContainer[_struct_pb2.Struct]
    input_guardrails: _containers.RepeatedCompositeFieldContainer[_struct_pb2.Struct]
    output_guardrails: _containers.RepeatedCompositeFieldContainer[_struct_pb2.Struct]
    provider_options: _containers.ScalarMap[str, str]
    def __init__(self, strategy: _Optional[_Union[RoutingStrategy, _Mapping]] = ..., targets: _Optional[_Iterable[_Union[RoutingConfig, _Mapping]]] = ..., name: _Optional[str] = ..., weight: _Optional[float] = ..., provider: _Optional[str] = ..., api_key: _Optional[str] = ..., custom_host: _Optional[str] = ..., override_params: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., retry: _Optional[_Union[RetryPolicy, _Mapping]] = ..., request_timeout: _Optional[int] = ..., cache: _Optional[_Union[CachePolicy, _Mapping]] = ..., forward_headers: _Optional[_Iterable[str]] = ..., strict_open_ai_compliance: _Optional[bool] = ..., before_request_hooks: _Optional[_Iterable[_Union[_struct_pb2.Struct, _Mapping]]] = ..., after_request_hooks: _Optional[_Iterable[_Union[_struct_pb2.Struct, _Mapping]]] = ..., input_guardrails: _Optional[_Iterable[_Union[_struct_pb2.Struct, _Mapping]]] = ..., output_guardrails: _Optional[_Iterable[_Union[_struct_pb2.Struct, _Mapping]]] = ..., provider_options: _Optional[_Mapping[str, str]] = ...) -> None: ...

class RoutingStrategy(_message.Message):
    __slots__ = ("mode", "on_status_codes", "conditions", "default_target", "sticky", "cb_config")
    MODE_FIELD_NUMBER: _ClassVar[int]
    ON_STATUS_CODES_FIELD_NUMBER: _ClassVar[int]
    CONDITIONS_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_TARGET_FIELD_NUMBER: _ClassVar[int]
    STICKY_FIELD_NUMBER: _ClassVar[int]
    CB_CONFIG_FIELD_NUMBER: _ClassVar[int]
    mode: str
    on_status_codes: _containers.RepeatedScalarFieldContainer[int]
    conditions: _containers.RepeatedCompositeFieldContainer[RoutingCondition]
    default_target: str
    sticky: StickyRouting
    cb_config: CircuitBreakerPolicy
    def __init__(self, mode: _Optional[str] = ..., on_status_codes: _Optional[_Iterable[int]] = ..., conditions: _Optional[_Iterable[_Union[RoutingCondition, _Mapping]]] = ..., default_target: _Optional[str] = ..., sticky: _Optional[_Union[StickyRouting, _Mapping]] = ..., cb_config: _Optional[_Union[CircuitBreakerPolicy, _Mapping]] = ...) -> None: ...

class StickyRouting(_message.Message):
    __slots__ = ("enabled", "hash_fields")
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    HASH_FIELDS_FIELD_NUMBER: _ClassVar[int]
    enabled: bool
    hash_fields: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, enabled: _Optional[bool] = ..., hash_fields: _Optional[_Iterable[str]] = ...) -> None: ...

class CircuitBreakerPolicy(_message.Message):
    __slots__ = ("failure_threshold", "failure_threshold_percentage", "minimum_requests", "cooldown_interval", "failure_status_codes")
    FAILURE_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    FAILURE_THRESHOLD_PERCENTAGE_FIELD_NUMBER: _ClassVar[int]
    MINIMUM_REQUESTS_FIELD_NUMBER: _ClassVar[int]
    COOLDOWN_INTERVAL_FIELD_NUMBER: _ClassVar[int]
    FAILURE_STATUS_CODES_FIELD_NUMBER: _ClassVar[int]
    failure_threshold: int
    failure_threshold_percentage: float
    minimum_requests: int
    cooldown_interval: int
    failure_status_codes: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, failure_threshold: _Optional[int] = ..., failure_threshold_percentage: _Optional[float] = ..., minimum_requests: _Optional[int] = ..., cooldown_interval: _Optional[int] = ..., failure_status_codes: _Optional[_Iterable[int]] = ...) -> None: ...

class RoutingCondition(_message.Message):
    __slots__ = ("query", "then")
    QUERY_FIELD_NUMBER: _ClassVar[int]
    THEN_FIELD_NUMBER: _ClassVar[int]
    query: _struct_pb2.Struct
    then: str
    def __init__(self, query: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., then: _Optional[str] = ...) -> None: ...

class RetryPolicy(_message.Message):
    __slots__ = ("attempts", "on_status_codes", "use_retry_after_header")
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    ON_STATUS_CODES_FIELD_NUMBER: _ClassVar[int]
    USE_RETRY_AFTER_HEADER_FIELD_NUMBER: _ClassVar[int]
    attempts: int
    on_status_codes: _containers.RepeatedScalarFieldContainer[int]
    use_retry_after_header: bool
    def __init__(self, attempts: _Optional[int] = ..., on_status_codes: _Optional[_Iterable[int]] = ..., use_retry_after_header: _Optional[bool] = ...) -> None: ...

class CachePolicy(_message.Message):
    __slots__ = ("mode", "max_age")
    MODE_FIELD_NUMBER: _ClassVar[int]
    MAX_AGE_FIELD_NUMBER: _ClassVar[int]
    mode: str
    max_age: int
    def __init__(self, mode: _Optional[str] = ..., max_age: _Optional[int] = ...) -> None: ...
