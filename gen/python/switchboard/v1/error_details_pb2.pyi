import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from switchboard.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class BudgetLevel(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    BUDGET_LEVEL_UNSPECIFIED: _ClassVar[BudgetLevel]
    BUDGET_LEVEL_ORG: _ClassVar[BudgetLevel]
    BUDGET_LEVEL_TEAM: _ClassVar[BudgetLevel]
    BUDGET_LEVEL_KEY: _ClassVar[BudgetLevel]
    BUDGET_LEVEL_TAG: _ClassVar[BudgetLevel]

class BudgetPeriod(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    BUDGET_PERIOD_UNSPECIFIED: _ClassVar[BudgetPeriod]
    BUDGET_PERIOD_DAILY: _ClassVar[BudgetPeriod]
    BUDGET_PERIOD_WEEKLY: _ClassVar[BudgetPeriod]
    BUDGET_PERIOD_MONTHLY: _ClassVar[BudgetPeriod]
    BUDGET_PERIOD_TOTAL: _ClassVar[BudgetPeriod]

class RateLimitDimension(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RATE_LIMIT_DIMENSION_UNSPECIFIED: _ClassVar[RateLimitDimension]
    RATE_LIMIT_DIMENSION_REQUESTS: _ClassVar[RateLimitDimension]
    RATE_LIMIT_DIMENSION_TOKENS: _ClassVar[RateLimitDimension]
    RATE_LIMIT_DIMENSION_CONCURRENCY: _ClassVar[RateLimitDimension]

class GuardrailStage(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    GUARDRAIL_STAGE_UNSPECIFIED: _ClassVar[GuardrailStage]
    GUARDRAIL_STAGE_INPUT: _ClassVar[GuardrailStage]
    GUARDRAIL_STAGE_OUTPUT: _ClassVar[GuardrailStage]
    GUARDRAIL_STAGE_BOTH: _ClassVar[GuardrailStage]
BUDGET_LEVEL_UNSPECIFIED: BudgetLevel
BUDGET_LEVEL_ORG: BudgetLevel
BUDGET_LEVEL_TEAM: BudgetLevel
BUDGET_LEVEL_KEY: BudgetLevel
BUDGET_LEVEL_TAG: BudgetLevel
BUDGET_PERIOD_UNSPECIFIED: BudgetPeriod
BUDGET_PERIOD_DAILY: BudgetPeriod
BUDGET_PERIOD_WEEKLY: BudgetPeriod
BUDGET_PERIOD_MONTHLY: BudgetPeriod
BUDGET_PERIOD_TOTAL: BudgetPeriod
RATE_LIMIT_DIMENSION_UNSPECIFIED: RateLimitDimension
RATE_LIMIT_DIMENSION_REQUESTS: RateLimitDimension
RATE_LIMIT_DIMENSION_TOKENS: RateLimitDimension
RATE_LIMIT_DIMENSION_CONCURRENCY: RateLimitDimension
GUARDRAIL_STAGE_UNSPECIFIED: GuardrailStage
GUARDRAIL_STAGE_INPUT: GuardrailStage
GUARDRAIL_STAGE_OUTPUT: GuardrailStage
GUARDRAIL_STAGE_BOTH: GuardrailStage

class BudgetExceeded(_message.Message):
    __slots__ = ("level", "budget", "limit_micros_usd", "spent_micros_usd", "reserved_micros_usd", "requested_micros_usd", "period", "reset_time")
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    BUDGET_FIELD_NUMBER: _ClassVar[int]
    LIMIT_MICROS_USD_FIELD_NUMBER: _ClassVar[int]
    SPENT_MICROS_USD_FIELD_NUMBER: _ClassVar[int]
    RESERVED_MICROS_USD_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_MICROS_USD_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    RESET_TIME_FIELD_NUMBER: _ClassVar[int]
    level: BudgetLevel
    budget: str
    limit_micros_usd: int
    spent_micros_usd: int
    reserved_micros_usd: int
    requested_micros_usd: int
    period: BudgetPeriod
    reset_time: _timestamp_pb2.Timestamp
    def __init__(self, level: _Optional[_Union[BudgetLevel, str]] = ..., budget: _Optional[str] = ..., limit_micros_usd: _Optional[int] = ..., spent_micros_usd: _Optional[int] = ..., reserved_micros_usd: _Optional[int] = ..., requested_micros_usd: _Optional[int] = ..., period: _Optional[_Union[BudgetPeriod, str]] = ..., reset_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RateLimitExceeded(_message.Message):
    __slots__ = ("level", "rate_limit", "dimension", "limit", "retry_delay")
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    RATE_LIMIT_FIELD_NUMBER: _ClassVar[int]
    DIMENSION_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    RETRY_DELAY_FIELD_NUMBER: _ClassVar[int]
    level: BudgetLevel
    rate_limit: str
    dimension: RateLimitDimension
    limit: int
    retry_delay: _duration_pb2.Duration
    def __init__(self, level: _Optional[_Union[BudgetLevel, str]] = ..., rate_limit: _Optional[str] = ..., dimension: _Optional[_Union[RateLimitDimension, str]] = ..., limit: _Optional[int] = ..., retry_delay: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class GuardrailViolation(_message.Message):
    __slots__ = ("policy", "rule", "stage", "field", "category", "message")
    POLICY_FIELD_NUMBER: _ClassVar[int]
    RULE_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    FIELD_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    policy: str
    rule: str
    stage: GuardrailStage
    field: str
    category: str
    message: str
    def __init__(self, policy: _Optional[str] = ..., rule: _Optional[str] = ..., stage: _Optional[_Union[GuardrailStage, str]] = ..., field: _Optional[str] = ..., category: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class CapabilityMissing(_message.Message):
    __slots__ = ("capabilities", "route", "targets")
    CAPABILITIES_FIELD_NUMBER: _ClassVar[int]
    ROUTE_FIELD_NUMBER: _ClassVar[int]
    TARGETS_FIELD_NUMBER: _ClassVar[int]
    capabilities: _containers.RepeatedScalarFieldContainer[str]
    route: str
    targets: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, capabilities: _Optional[_Iterable[str]] = ..., route: _Optional[str] = ..., targets: _Optional[_Iterable[str]] = ...) -> None: ...

class ProviderAttempts(_message.Message):
    __slots__ = ("attempts", "route", "request_id")
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    ROUTE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    attempts: _containers.RepeatedCompositeFieldContainer[_common_pb2.Attempt]
    route: str
    request_id: str
    def __init__(self, attempts: _Optional[_Iterable[_Union[_common_pb2.Attempt, _Mapping]]] = ..., route: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...
