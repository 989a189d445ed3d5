import datetime

from buf.validate import validate_pb2 as _validate_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from switchboard.v1 import error_details_pb2 as _error_details_pb2
from switchboard.v1 import options_pb2 as _options_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GuardrailAction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    GUARDRAIL_ACTION_UNSPECIFIED: _ClassVar[GuardrailAction]
    GUARDRAIL_ACTION_REDACT: _ClassVar[GuardrailAction]
    GUARDRAIL_ACTION_BLOCK: _ClassVar[GuardrailAction]
    GUARDRAIL_ACTION_LOG: _ClassVar[GuardrailAction]

class PiiEntity(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PII_ENTITY_UNSPECIFIED: _ClassVar[PiiEntity]
    PII_ENTITY_EMAIL: _ClassVar[PiiEntity]
    PII_ENTITY_PHONE: _ClassVar[PiiEntity]
    PII_ENTITY_CREDIT_CARD: _ClassVar[PiiEntity]
    PII_ENTITY_IBAN: _ClassVar[PiiEntity]
    PII_ENTITY_US_SSN: _ClassVar[PiiEntity]
    PII_ENTITY_IP_ADDRESS: _ClassVar[PiiEntity]
    PII_ENTITY_SECRET: _ClassVar[PiiEntity]
GUARDRAIL_ACTION_UNSPECIFIED: GuardrailAction
GUARDRAIL_ACTION_REDACT: GuardrailAction
GUARDRAIL_ACTION_BLOCK: GuardrailAction
GUARDRAIL_ACTION_LOG: GuardrailAction
PII_ENTITY_UNSPECIFIED: PiiEntity
PII_ENTITY_EMAIL: PiiEntity
PII_ENTITY_PHONE: PiiEntity
PII_ENTITY_CREDIT_CARD: PiiEntity
PII_ENTITY_IBAN: PiiEntity
PII_ENTITY_US_SSN: PiiEntity
PII_ENTITY_IP_ADDRESS: PiiEntity
PII_ENTITY_SECRET: PiiEntity

class PiiRule(_message.Message):
    __slots__ = ("entities", "restore_in_response")
    ENTITIES_FIELD_NUMBER: _ClassVar[int]
    RESTORE_IN_RESPONSE_FIELD_NUMBER: _ClassVar[int]
    entities: _containers.RepeatedScalarFieldContainer[PiiEntity]
    restore_in_response: bool
    def __init__(self, entities: _Optional[_Iterable[_Union[PiiEntity, str]]] = ..., restore_in_response: _Optional[bool] = ...) -> None: ...

class DenyListRule(_message.Message):
    __slots__ = ("phrases", "case_sensitive")
    PHRASES_FIELD_NUMBER: _ClassVar[int]
    CASE_SENSITIVE_FIELD_NUMBER: _ClassVar[int]
    phrases: _containers.RepeatedScalarFieldContainer[str]
    case_sensitive: bool
    def __init__(self, phrases: _Optional[_Iterable[str]] = ..., case_sensitive: _Optional[bool] = ...) -> None: ...

class RegexRule(_message.Message):
    __slots__ = ("pattern", "category")
    PATTERN_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    pattern: str
    category: str
    def __init__(self, pattern: _Optional[str] = ..., category: _Optional[str] = ...) -> None: ...

class InjectionRule(_message.Message):
    __slots__ = ("threshold",)
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    threshold: float
    def __init__(self, threshold: _Optional[float] = ...) -> None: ...

class ExternalRule(_message.Message):
    __slots__ = ("url", "timeout", "fail_open")
    URL_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    FAIL_OPEN_FIELD_NUMBER: _ClassVar[int]
    url: str
    timeout: _duration_pb2.Duration
    fail_open: bool
    def __init__(self, url: _Optional[str] = ..., timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., fail_open: _Optional[bool] = ...) -> None: ...

class GuardrailRule(_message.Message):
    __slots__ = ("id", "stage", "action", "pii", "deny_list", "regex", "injection", "external")
    ID_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    PII_FIELD_NUMBER: _ClassVar[int]
    DENY_LIST_FIELD_NUMBER: _ClassVar[int]
    REGEX_FIELD_NUMBER: _ClassVar[int]
    INJECTION_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_FIELD_NUMBER: _ClassVar[int]
    id: str
    stage: _error_details_pb2.GuardrailStage
    action: GuardrailAction
    pii: PiiRule
    deny_list: DenyListRule
    regex: RegexRule
    injection: InjectionRule
    external: ExternalRule
    def __init__(self, id: _Optional[str] = ..., stage: _Optional[_Union[_error_details_pb2.GuardrailStage, str]] = ..., action: _Optional[_Union[GuardrailAction, str]] = ..., pii: _Optional[_Union[PiiRule, _Mapping]] = ..., deny_list: _Optional[_Union[DenyListRule, _Mapping]] = ..., regex: _Optional[_Union[RegexRule, _Mapping]] = ..., injection: _Optional[_Union[InjectionRule, _Mapping]] = ..., external: _Optional[_Union[ExternalRule, _Mapping]] = ...) -> None: ...

class GuardrailPolicy(_message.Message):
    __slots__ = ("name", "description", "rules", "attachments", "enabled", "create_time", "update_time", "analyzer_fail_open")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    RULES_FIELD_NUMBER: _ClassVar[int]
    ATTACHMENTS_FIELD_NUMBER: _ClassVar[int]
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    ANALYZER_FAIL_OPEN_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    rules: _containers.RepeatedCompositeFieldContainer[GuardrailRule]
    attachments: _containers.RepeatedScalarFieldContainer[str]
    enabled: bool
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    analyzer_fail_open: bool
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., rules: _Optional[_Iterable[_Union[GuardrailRule, _Mapping]]] = ..., attachments: _Optional[_Iterable[str]] = ..., enabled: _Optional[bool] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., analyzer_fail_open: _Optional[bool] = ...) -> None: ...

class CreateGuardrailPolicyRequest(_message.Message):
    __slots__ = ("parent", "policy_id", "policy", "request_id")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    POLICY_ID_FIELD_NUMBER: _ClassVar[int]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    parent: str
    policy_id: str
    policy: GuardrailPolicy
    request_id: str
    def __init__(self, parent: _Optional[str] = ..., policy_id: _Optional[str] = ..., policy: _Optional[_Union[GuardrailPolicy, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class CreateGuardrailPolicyResponse(_message.Message):
    __slots__ = ("policy",)
    POLICY_FIELD_NUMBER: _ClassVar[int]
    policy: GuardrailPolicy
    def __init__(self, policy: _Optional[_Union[GuardrailPolicy, _Mapping]] = ...) -> None: ...

class GetGuardrailPolicyRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetGuardrailPolicyResponse(_message.Message):
    __slots__ = ("policy",)
    POLICY_FIELD_NUMBER: _ClassVar[int]
    policy: GuardrailPolicy
    def __init__(self, policy: _Optional[_Union[GuardrailPolicy, _Mapping]] = ...) -> None: ...

class ListGuardrailPoliciesRequest(_message.Message):
    __slots__ = ("parent", "page_size", "page_token")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    parent: str
    page_size: int
    page_token: str
    def __init__(self, parent: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListGuardrailPoliciesResponse(_message.Message):
    __slots__ = ("policies", "next_page_token")
    POLICIES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    policies: _containers.RepeatedCompositeFieldContainer[GuardrailPolicy]
    next_page_token: str
    def __init__(self, policies: _Optional[_Iterable[_Union[GuardrailPolicy, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdateGuardrailPolicyRequest(_message.Message):
    __slots__ = ("policy", "update_mask")
    POLICY_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    policy: GuardrailPolicy
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, policy: _Optional[_Union[GuardrailPolicy, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class UpdateGuardrailPolicyResponse(_message.Message):
    __slots__ = ("policy",)
    POLICY_FIELD_NUMBER: _ClassVar[int]
    policy: GuardrailPolicy
    def __init__(self, policy: _Optional[_Union[GuardrailPolicy, _Mapping]] = ...) -> None: ...

class DeleteGuardrailPolicyRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class DeleteGuardrailPolicyResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class EvaluateGuardrailPolicyRequest(_message.Message):
    __slots__ = ("policy", "text", "stage")
    POLICY_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    policy: GuardrailPolicy
    text: str
    stage: _error_details_pb2.GuardrailStage
    def __init__(self, policy: _Optional[_Union[GuardrailPolicy, _Mapping]] = ..., text: _Optional[str] = ..., stage: _Optional[_Union[_error_details_pb2.GuardrailStage, str]] = ...) -> None: ...

class GuardrailFinding(_message.Message):
    __slots__ = ("rule", "category", "start", "end", "action")
    RULE_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    rule: str
    category: str
    start: int
    end: int
    action: GuardrailAction
    def __init__(self, rule: _Optional[str] = ..., category: _Optional[str] = ..., start: _Optional[int] = ..., end: _Optional[int] = ..., action: _Optional[_Union[GuardrailAction, str]] = ...) -> None: ...

class EvaluateGuardrailPolicyResponse(_message.Message):
    __slots__ = ("findings", "redacted_text", "blocked")
    FINDINGS_FIELD_NUMBER: _ClassVar[int]
    REDACTED_TEXT_FIELD_NUMBER: _ClassVar[int]
    BLOCKED_FIELD_NUMBER: _ClassVar[int]
    findings: _containers.RepeatedCompositeFieldContainer[GuardrailFinding]
    redacted_text: str
    blocked: bool
    def __init__(self, findings: _Optional[_Iterable[_Union[GuardrailFinding, _Mapping]]] = ..., redacted_text: _Optional[str] = ..., blocked: _Optional[bool] = ...) -> None: ...
