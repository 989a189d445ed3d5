import datetime

from buf.validate import validate_pb2 as _validate_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from switchboard.v1 import options_pb2 as _options_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RouteTarget(_message.Message):
    __slots__ = ("provider", "model", "credential", "weight", "priority", "attempt_timeout", "first_token_timeout", "idle_timeout", "params", "context_window_tokens")
    class ParamsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    CREDENTIAL_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    FIRST_TOKEN_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    IDLE_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_WINDOW_TOKENS_FIELD_NUMBER: _ClassVar[int]
    provider: str
    model: str
    credential: str
    weight: int
    priority: int
    attempt_timeout: _duration_pb2.Duration
    first_token_timeout: _duration_pb2.Duration
    idle_timeout: _duration_pb2.Duration
    params: _containers.ScalarMap[str, str]
    context_window_tokens: int
    def __init__(self, provider: _Optional[str] = ..., model: _Optional[str] = ..., credential: _Optional[str] = ..., weight: _Optional[int] = ..., priority: _Optional[int] = ..., attempt_timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., first_token_timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., idle_timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., params: _Optional[_Mapping[str, str]] = ..., context_window_tokens: _Optional[int] = ...) -> None: ...

class RetryPolicy(_message.Message):
    __slots__ = ("max_attempts", "initial_backoff", "max_backoff", "budget_percent", "throttle_max_tokens", "throttle_token_ratio", "fallback_on_context_length", "fallback_on_content_filter")
    MAX_ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    INITIAL_BACKOFF_FIELD_NUMBER: _ClassVar[int]
    MAX_BACKOFF_FIELD_NUMBER: _ClassVar[int]
    BUDGET_PERCENT_FIELD_NUMBER: _ClassVar[int]
    THROTTLE_MAX_TOKENS_FIELD_NUMBER: _ClassVar[int]
    THROTTLE_TOKEN_RATIO_FIELD_NUMBER: _ClassVar[int]
    FALLBACK_ON_CONTEXT_LENGTH_FIELD_NUMBER: _ClassVar[int]
    FALLBACK_ON_CONTENT_FILTER_FIELD_NUMBER: _ClassVar[int]
    max_attempts: int
    initial_backoff: _duration_pb2.Duration
    max_backoff: _duration_pb2.Duration
    budget_percent: int
    throttle_max_tokens: int
    throttle_token_ratio: float
    fallback_on_context_length: bool
    fallback_on_content_filter: bool
    def __init__(self, max_attempts: _Optional[int] = ..., initial_backoff: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., max_backoff: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., budget_percent: _Optional[int] = ..., throttle_max_tokens: _Optional[int] = ..., throttle_token_ratio: _Optional[float] = ..., fallback_on_context_length: _Optional[bool] = ..., fallback_on_content_filter: _Optional[bool] = ...) -> None: ...

class HedgePolicy(_message.Message):
    __slots__ = ("delay", "max_hedges")
    DELAY_FIELD_NUMBER: _ClassVar[int]
    MAX_HEDGES_FIELD_NUMBER: _ClassVar[int]
    delay: _duration_pb2.Duration
    max_hedges: int
    def __init__(self, delay: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., max_hedges: _Optional[int] = ...) -> None: ...

class BreakerPolicy(_message.Message):
    __slots__ = ("error_threshold_percent", "volume_threshold", "reset_timeout")
    ERROR_THRESHOLD_PERCENT_FIELD_NUMBER: _ClassVar[int]
    VOLUME_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    RESET_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    error_threshold_percent: int
    volume_threshold: int
    reset_timeout: _duration_pb2.Duration
    def __init__(self, error_threshold_percent: _Optional[int] = ..., volume_threshold: _Optional[int] = ..., reset_timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class RouteCachePolicy(_message.Message):
    __slots__ = ("ttl", "semantic", "semantic_threshold", "embedding_route")
    TTL_FIELD_NUMBER: _ClassVar[int]
    SEMANTIC_FIELD_NUMBER: _ClassVar[int]
    SEMANTIC_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    EMBEDDING_ROUTE_FIELD_NUMBER: _ClassVar[int]
    ttl: _duration_pb2.Duration
    semantic: bool
    semantic_threshold: float
    embedding_route: str
    def __init__(self, ttl: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., semantic: _Optional[bool] = ..., semantic_threshold: _Optional[float] = ..., embedding_route: _Optional[str] = ...) -> None: ...

class Route(_message.Message):
    __slots__ = ("name", "description", "targets", "retry", "hedge", "breaker", "timeout", "cache", "default_max_output_tokens", "create_time", "update_time", "strategy")
    class Strategy(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        STRATEGY_UNSPECIFIED: _ClassVar[Route.Strategy]
        STRATEGY_WEIGHTED: _ClassVar[Route.Strategy]
        STRATEGY_LEAST_BUSY: _ClassVar[Route.Strategy]
        STRATEGY_LATENCY: _ClassVar[Route.Strategy]
    STRATEGY_UNSPECIFIED: Route.Strategy
    STRATEGY_WEIGHTED: Route.Strategy
    STRATEGY_LEAST_BUSY: Route.Strategy
    STRATEGY_LATENCY: Route.Strategy
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    TARGETS_FIELD_NUMBER: _ClassVar[int]
    RETRY_FIELD_NUMBER: _ClassVar[int]
    HEDGE_FIELD_NUMBER: _ClassVar[int]
    BREAKER_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    CACHE_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_MAX_OUTPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    STRATEGY_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    targets: _containers.RepeatedCompositeFieldContainer[RouteTarget]
    retry: RetryPolicy
    hedge: HedgePolicy
    breaker: BreakerPolicy
    timeout: _duration_pb2.Duration
    cache: RouteCachePolicy
    default_max_output_tokens: int
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    strategy: Route.Strategy
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., targets: _Optional[_Iterable[_Union[RouteTarget, _Mapping]]] = ..., retry: _Optional[_Union[RetryPolicy, _Mapping]] = ..., hedge: _Optional[_Union[HedgePolicy, _Mapping]] = ..., breaker: _Optional[_Union[BreakerPolicy, _Mapping]] = ..., timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., cache: _Optional[_Union[RouteCachePolicy, _Mapping]] = ..., default_max_output_tokens: _Optional[int] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., strategy: _Optional[_Union[Route.Strategy, str]] = ...) -> None: ...

class CreateRouteRequest(_message.Message):
    __slots__ = ("parent", "route_id", "route", "request_id")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    ROUTE_ID_FIELD_NUMBER: _ClassVar[int]
    ROUTE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    parent: str
    route_id: str
    route: Route
    request_id: str
    def __init__(self, parent: _Optional[str] = ..., route_id: _Optional[str] = ..., route: _Optional[_Union[Route, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class CreateRouteResponse(_message.Message):
    __slots__ = ("route",)
    ROUTE_FIELD_NUMBER: _ClassVar[int]
    route: Route
    def __init__(self, route: _Optional[_Union[Route, _Mapping]] = ...) -> None: ...

class GetRouteRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetRouteResponse(_message.Message):
    __slots__ = ("route",)
    ROUTE_FIELD_NUMBER: _ClassVar[int]
    route: Route
    def __init__(self, route: _Optional[_Union[Route, _Mapping]] = ...) -> None: ...

class ListRoutesRequest(_message.Message):
    __slots__ = ("parent", "page_size", "page_token")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    parent: str
    page_size: int
    page_token: str
    def __init__(self, parent: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListRoutesResponse(_message.Message):
    __slots__ = ("routes", "next_page_token")
    ROUTES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    routes: _containers.RepeatedCompositeFieldContainer[Route]
    next_page_token: str
    def __init__(self, routes: _Optional[_Iterable[_Union[Route, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdateRouteRequest(_message.Message):
    __slots__ = ("route", "update_mask")
    ROUTE_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    route: Route
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, route: _Optional[_Union[Route, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class UpdateRouteResponse(_message.Message):
    __slots__ = ("route",)
    ROUTE_FIELD_NUMBER: _ClassVar[int]
    route: Route
    def __init__(self, route: _Optional[_Union[Route, _Mapping]] = ...) -> None: ...

class DeleteRouteRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class DeleteRouteResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
