from buf.validate import validate_pb2 as _validate_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CheckStage(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CHECK_STAGE_UNSPECIFIED: _ClassVar[CheckStage]
    CHECK_STAGE_INPUT: _ClassVar[CheckStage]
    CHECK_STAGE_OUTPUT: _ClassVar[CheckStage]

class CheckDecision(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CHECK_DECISION_UNSPECIFIED: _ClassVar[CheckDecision]
    CHECK_DECISION_ALLOW: _ClassVar[CheckDecision]
    CHECK_DECISION_BLOCK: _ClassVar[CheckDecision]
CHECK_STAGE_UNSPECIFIED: CheckStage
CHECK_STAGE_INPUT: CheckStage
CHECK_STAGE_OUTPUT: CheckStage
CHECK_DECISION_UNSPECIFIED: CheckDecision
CHECK_DECISION_ALLOW: CheckDecision
CHECK_DECISION_BLOCK: CheckDecision

class CheckContent(_message.Message):
    __slots__ = ("field", "text")
    FIELD_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    field: str
    text: str
    def __init__(self, field: _Optional[str] = ..., text: _Optional[str] = ...) -> None: ...

class CheckRequest(_message.Message):
    __slots__ = ("policy", "rule", "stage", "contents", "org_id", "route", "request_id")
    POLICY_FIELD_NUMBER: _ClassVar[int]
    RULE_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    CONTENTS_FIELD_NUMBER: _ClassVar[int]
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    ROUTE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    policy: str
    rule: str
    stage: CheckStage
    contents: _containers.RepeatedCompositeFieldContainer[CheckContent]
    org_id: str
    route: str
    request_id: str
    def __init__(self, policy: _Optional[str] = ..., rule: _Optional[str] = ..., stage: _Optional[_Union[CheckStage, str]] = ..., contents: _Optional[_Iterable[_Union[CheckContent, _Mapping]]] = ..., org_id: _Optional[str] = ..., route: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class CheckResponse(_message.Message):
    __slots__ = ("decision", "category", "content_index", "message")
    DECISION_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    CONTENT_INDEX_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    decision: CheckDecision
    category: str
    content_index: int
    message: str
    def __init__(self, decision: _Optional[_Union[CheckDecision, str]] = ..., category: _Optional[str] = ..., content_index: _Optional[int] = ..., message: _Optional[str] = ...) -> None: ...
