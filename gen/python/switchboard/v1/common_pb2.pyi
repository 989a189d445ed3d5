import datetime

from buf.validate import validate_pb2 as _validate_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Verb(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    VERB_UNSPECIFIED: _ClassVar[Verb]
    VERB_SUMMARIZE: _ClassVar[Verb]
    VERB_CLASSIFY: _ClassVar[Verb]
    VERB_EXTRACT: _ClassVar[Verb]
    VERB_ANSWER: _ClassVar[Verb]
    VERB_CHAT: _ClassVar[Verb]
    VERB_EMBED: _ClassVar[Verb]

class CacheMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CACHE_MODE_UNSPECIFIED: _ClassVar[CacheMode]
    CACHE_MODE_BYPASS: _ClassVar[CacheMode]
    CACHE_MODE_NO_STORE: _ClassVar[CacheMode]
    CACHE_MODE_REFRESH: _ClassVar[CacheMode]

class CacheStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CACHE_STATUS_UNSPECIFIED: _ClassVar[CacheStatus]
    CACHE_STATUS_MISS: _ClassVar[CacheStatus]
    CACHE_STATUS_HIT_EXACT: _ClassVar[CacheStatus]
    CACHE_STATUS_HIT_SEMANTIC: _ClassVar[CacheStatus]
    CACHE_STATUS_BYPASS: _ClassVar[CacheStatus]

class PromptCaching(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PROMPT_CACHING_UNSPECIFIED: _ClassVar[PromptCaching]
    PROMPT_CACHING_AUTO: _ClassVar[PromptCaching]

class ReasoningEffort(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REASONING_EFFORT_UNSPECIFIED: _ClassVar[ReasoningEffort]
    REASONING_EFFORT_MINIMAL: _ClassVar[ReasoningEffort]
    REASONING_EFFORT_LOW: _ClassVar[ReasoningEffort]
    REASONING_EFFORT_MEDIUM: _ClassVar[ReasoningEffort]
    REASONING_EFFORT_HIGH: _ClassVar[ReasoningEffort]

class AttemptOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ATTEMPT_OUTCOME_UNSPECIFIED: _ClassVar[AttemptOutcome]
    ATTEMPT_OUTCOME_SUCCESS: _ClassVar[AttemptOutcome]
    ATTEMPT_OUTCOME_RATE_LIMITED: _ClassVar[AttemptOutcome]
    ATTEMPT_OUTCOME_UNAVAILABLE: _ClassVar[AttemptOutcome]
    ATTEMPT_OUTCOME_TIMEOUT: _ClassVar[AttemptOutcome]
    ATTEMPT_OUTCOME_CONNECTION_ERROR: _ClassVar[AttemptOutcome]
    ATTEMPT_OUTCOME_REJECTED: _ClassVar[AttemptOutcome]
    ATTEMPT_OUTCOME_AUTH_ERROR: _ClassVar[AttemptOutcome]
    ATTEMPT_OUTCOME_CIRCUIT_OPEN: _ClassVar[AttemptOutcome]
    ATTEMPT_OUTCOME_CANCELLED: _ClassVar[AttemptOutcome]
    ATTEMPT_OUTCOME_STREAM_ERROR: _ClassVar[AttemptOutcome]
VERB_UNSPECIFIED: Verb
VERB_SUMMARIZE: Verb
VERB_CLASSIFY: Verb
VERB_EXTRACT: Verb
VERB_ANSWER: Verb
VERB_CHAT: Verb
VERB_EMBED: Verb
CACHE_MODE_UNSPECIFIED: CacheMode
CACHE_MODE_BYPASS: CacheMode
CACHE_MODE_NO_STORE: CacheMode
CACHE_MODE_REFRESH: CacheMode
CACHE_STATUS_UNSPECIFIED: CacheStatus
CACHE_STATUS_MISS: CacheStatus
CACHE_STATUS_HIT_EXACT: CacheStatus
CACHE_STATUS_HIT_SEMANTIC: CacheStatus
CACHE_STATUS_BYPASS: CacheStatus
PROMPT_CACHING_UNSPECIFIED: PromptCaching
PROMPT_CACHING_AUTO: PromptCaching
REASONING_EFFORT_UNSPECIFIED: ReasoningEffort
REASONING_EFFORT_MINIMAL: ReasoningEffort
REASONING_EFFORT_LOW: ReasoningEffort
REASONING_EFFORT_MEDIUM: ReasoningEffort
REASONING_EFFORT_HIGH: ReasoningEffort
ATTEMPT_OUTCOME_UNSPECIFIED: AttemptOutcome
ATTEMPT_OUTCOME_SUCCESS: AttemptOutcome
ATTEMPT_OUTCOME_RATE_LIMITED: AttemptOutcome
ATTEMPT_OUTCOME_UNAVAILABLE: AttemptOutcome
ATTEMPT_OUTCOME_TIMEOUT: AttemptOutcome
ATTEMPT_OUTCOME_CONNECTION_ERROR: AttemptOutcome
ATTEMPT_OUTCOME_REJECTED: AttemptOutcome
ATTEMPT_OUTCOME_AUTH_ERROR: AttemptOutcome
ATTEMPT_OUTCOME_CIRCUIT_OPEN: AttemptOutcome
ATTEMPT_OUTCOME_CANCELLED: AttemptOutcome
ATTEMPT_OUTCOME_STREAM_ERROR: AttemptOutcome

class CachePolicy(_message.Message):
    __slots__ = ("mode", "max_age")
    MODE_FIELD_NUMBER: _ClassVar[int]
    MAX_AGE_FIELD_NUMBER: _ClassVar[int]
    mode: CacheMode
    max_age: _duration_pb2.Duration
    def __init__(self, mode: _Optional[_Union[CacheMode, str]] = ..., max_age: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class TemplateRef(_message.Message):
    __slots__ = ("name", "version")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: int
    def __init__(self, name: _Optional[str] = ..., version: _Optional[int] = ...) -> None: ...

class RequestOptions(_message.Message):
    __slots__ = ("route", "prompt", "cache", "tags", "idempotency_key", "max_output_tokens", "temperature", "end_user", "reasoning_effort", "prompt_caching")
    class TagsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ROUTE_FIELD_NUMBER: _ClassVar[int]
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    CACHE_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    MAX_OUTPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    TEMPERATURE_FIELD_NUMBER: _ClassVar[int]
    END_USER_FIELD_NUMBER: _ClassVar[int]
    REASONING_EFFORT_FIELD_NUMBER: _ClassVar[int]
    PROMPT_CACHING_FIELD_NUMBER: _ClassVar[int]
    route: str
    prompt: TemplateRef
    cache: CachePolicy
    tags: _containers.ScalarMap[str, str]
    idempotency_key: str
    max_output_tokens: int
    temperature: float
    end_user: str
    reasoning_effort: ReasoningEffort
    prompt_caching: PromptCaching
    def __init__(self, route: _Optional[str] = ..., prompt: _Optional[_Union[TemplateRef, _Mapping]] = ..., cache: _Optional[_Union[CachePolicy, _Mapping]] = ..., tags: _Optional[_Mapping[str, str]] = ..., idempotency_key: _Optional[str] = ..., max_output_tokens: _Optional[int] = ..., temperature: _Optional[float] = ..., end_user: _Optional[str] = ..., reasoning_effort: _Optional[_Union[ReasoningEffort, str]] = ..., prompt_caching: _Optional[_Union[PromptCaching, str]] = ...) -> None: ...

class Attempt(_message.Message):
    __slots__ = ("index", "provider", "model", "target_index", "outcome", "latency", "time_to_first_token", "input_tokens", "output_tokens", "cost_micros_usd", "http_status", "error", "hedged")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    TARGET_INDEX_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    LATENCY_FIELD_NUMBER: _ClassVar[int]
    TIME_TO_FIRST_TOKEN_FIELD_NUMBER: _ClassVar[int]
    INPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    COST_MICROS_USD_FIELD_NUMBER: _ClassVar[int]
    HTTP_STATUS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    HEDGED_FIELD_NUMBER: _ClassVar[int]
    index: int
    provider: str
    model: str
    target_index: int
    outcome: AttemptOutcome
    latency: _duration_pb2.Duration
    time_to_first_token: _duration_pb2.Duration
    input_tokens: int
    output_tokens: int
    cost_micros_usd: int
    http_status: int
    error: str
    hedged: bool
    def __init__(self, index: _Optional[int] = ..., provider: _Optional[str] = ..., model: _Optional[str] = ..., target_index: _Optional[int] = ..., outcome: _Optional[_Union[AttemptOutcome, str]] = ..., latency: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., time_to_first_token: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., input_tokens: _Optional[int] = ..., output_tokens: _Optional[int] = ..., cost_micros_usd: _Optional[int] = ..., http_status: _Optional[int] = ..., error: _Optional[str] = ..., hedged: _Optional[bool] = ...) -> None: ...

class Usage(_message.Message):
    __slots__ = ("input_tokens", "output_tokens", "cached_input_tokens", "reasoning_tokens", "cost_micros_usd", "provider", "model", "attempts", "fallbacks", "cache_status", "request_id", "estimated", "model_calls", "prompt", "route", "cache_write_input_tokens")
    INPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    CACHED_INPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    REASONING_TOKENS_FIELD_NUMBER: _ClassVar[int]
    COST_MICROS_USD_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    FALLBACKS_FIELD_NUMBER: _ClassVar[int]
    CACHE_STATUS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_FIELD_NUMBER: _ClassVar[int]
    MODEL_CALLS_FIELD_NUMBER: _ClassVar[int]
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    ROUTE_FIELD_NUMBER: _ClassVar[int]
    CACHE_WRITE_INPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    input_tokens: int
    output_tokens: int
    cached_input_tokens: int
    reasoning_tokens: int
    cost_micros_usd: int
    provider: str
    model: str
    attempts: _containers.RepeatedCompositeFieldContainer[Attempt]
    fallbacks: int
    cache_status: CacheStatus
    request_id: str
    estimated: bool
    model_calls: int
    prompt: TemplateRef
    route: str
    cache_write_input_tokens: int
    def __init__(self, input_tokens: _Optional[int] = ..., output_tokens: _Optional[int] = ..., cached_input_tokens: _Optional[int] = ..., reasoning_tokens: _Optional[int] = ..., cost_micros_usd: _Optional[int] = ..., provider: _Optional[str] = ..., model: _Optional[str] = ..., attempts: _Optional[_Iterable[_Union[Attempt, _Mapping]]] = ..., fallbacks: _Optional[int] = ..., cache_status: _Optional[_Union[CacheStatus, str]] = ..., request_id: _Optional[str] = ..., estimated: _Optional[bool] = ..., model_calls: _Optional[int] = ..., prompt: _Optional[_Union[TemplateRef, _Mapping]] = ..., route: _Optional[str] = ..., cache_write_input_tokens: _Optional[int] = ...) -> None: ...
