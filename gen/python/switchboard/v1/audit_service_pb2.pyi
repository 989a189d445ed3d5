import datetime

from buf.validate import validate_pb2 as _validate_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from switchboard.v1 import options_pb2 as _options_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AuditOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    AUDIT_OUTCOME_UNSPECIFIED: _ClassVar[AuditOutcome]
    AUDIT_OUTCOME_SUCCESS: _ClassVar[AuditOutcome]
    AUDIT_OUTCOME_DENIED: _ClassVar[AuditOutcome]
    AUDIT_OUTCOME_FAILURE: _ClassVar[AuditOutcome]

class AuditCheckpointStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    AUDIT_CHECKPOINT_STATUS_UNSPECIFIED: _ClassVar[AuditCheckpointStatus]
    AUDIT_CHECKPOINT_STATUS_MATCHED: _ClassVar[AuditCheckpointStatus]
    AUDIT_CHECKPOINT_STATUS_MISSING: _ClassVar[AuditCheckpointStatus]
    AUDIT_CHECKPOINT_STATUS_MISMATCH: _ClassVar[AuditCheckpointStatus]
    AUDIT_CHECKPOINT_STATUS_BAD_SIGNATURE: _ClassVar[AuditCheckpointStatus]
AUDIT_OUTCOME_UNSPECIFIED: AuditOutcome
AUDIT_OUTCOME_SUCCESS: AuditOutcome
AUDIT_OUTCOME_DENIED: AuditOutcome
AUDIT_OUTCOME_FAILURE: AuditOutcome
AUDIT_CHECKPOINT_STATUS_UNSPECIFIED: AuditCheckpointStatus
AUDIT_CHECKPOINT_STATUS_MATCHED: AuditCheckpointStatus
AUDIT_CHECKPOINT_STATUS_MISSING: AuditCheckpointStatus
AUDIT_CHECKPOINT_STATUS_MISMATCH: AuditCheckpointStatus
AUDIT_CHECKPOINT_STATUS_BAD_SIGNATURE: AuditCheckpointStatus

class AuditEvent(_message.Message):
    __slots__ = ("sequence", "time", "actor", "actor_org", "action", "resource", "before", "after", "outcome", "peer", "request_id", "hash", "previous_hash")
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    ACTOR_ORG_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_FIELD_NUMBER: _ClassVar[int]
    BEFORE_FIELD_NUMBER: _ClassVar[int]
    AFTER_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    PEER_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    HASH_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_HASH_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    time: _timestamp_pb2.Timestamp
    actor: str
    actor_org: str
    action: str
    resource: str
    before: _struct_pb2.Struct
    after: _struct_pb2.Struct
    outcome: AuditOutcome
    peer: str
    request_id: str
    hash: str
    previous_hash: str
    def __init__(self, sequence: _Optional[int] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., actor: _Optional[str] = ..., actor_org: _Optional[str] = ..., action: _Optional[str] = ..., resource: _Optional[str] = ..., before: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., after: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., outcome: _Optional[_Union[AuditOutcome, str]] = ..., peer: _Optional[str] = ..., request_id: _Optional[str] = ..., hash: _Optional[str] = ..., previous_hash: _Optional[str] = ...) -> None: ...

class ListAuditEventsRequest(_message.Message):
    __slots__ = ("parent", "actor", "action", "resource_prefix", "start_time", "end_time", "outcome", "page_size", "page_token")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_PREFIX_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    parent: str
    actor: str
    action: str
    resource_prefix: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    outcome: AuditOutcome
    page_size: int
    page_token: str
    def __init__(self, parent: _Optional[str] = ..., actor: _Optional[str] = ..., action: _Optional[str] = ..., resource_prefix: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., outcome: _Optional[_Union[AuditOutcome, str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListAuditEventsResponse(_message.Message):
    __slots__ = ("events", "next_page_token")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[AuditEvent]
    next_page_token: str
    def __init__(self, events: _Optional[_Iterable[_Union[AuditEvent, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class VerifyAuditChainRequest(_message.Message):
    __slots__ = ("start_sequence", "end_sequence", "checkpoints")
    START_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    END_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINTS_FIELD_NUMBER: _ClassVar[int]
    start_sequence: int
    end_sequence: int
    checkpoints: _containers.RepeatedCompositeFieldContainer[AuditCheckpoint]
    def __init__(self, start_sequence: _Optional[int] = ..., end_sequence: _Optional[int] = ..., checkpoints: _Optional[_Iterable[_Union[AuditCheckpoint, _Mapping]]] = ...) -> None: ...

class AuditCheckpoint(_message.Message):
    __slots__ = ("sequence", "hash", "time", "replica", "signature")
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    HASH_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    REPLICA_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    hash: str
    time: _timestamp_pb2.Timestamp
    replica: str
    signature: str
    def __init__(self, sequence: _Optional[int] = ..., hash: _Optional[str] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., replica: _Optional[str] = ..., signature: _Optional[str] = ...) -> None: ...

class VerifyAuditChainResponse(_message.Message):
    __slots__ = ("intact", "checked", "first_broken_sequence", "head_hash", "head_sequence", "checkpoint_status", "failed_checkpoint", "checkpoints_matched")
    INTACT_FIELD_NUMBER: _ClassVar[int]
    CHECKED_FIELD_NUMBER: _ClassVar[int]
    FIRST_BROKEN_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    HEAD_HASH_FIELD_NUMBER: _ClassVar[int]
    HEAD_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_STATUS_FIELD_NUMBER: _ClassVar[int]
    FAILED_CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINTS_MATCHED_FIELD_NUMBER: _ClassVar[int]
    intact: bool
    checked: int
    first_broken_sequence: int
    head_hash: str
    head_sequence: int
    checkpoint_status: AuditCheckpointStatus
    failed_checkpoint: AuditCheckpoint
    checkpoints_matched: int
    def __init__(self, intact: _Optional[bool] = ..., checked: _Optional[int] = ..., first_broken_sequence: _Optional[int] = ..., head_hash: _Optional[str] = ..., head_sequence: _Optional[int] = ..., checkpoint_status: _Optional[_Union[AuditCheckpointStatus, str]] = ..., failed_checkpoint: _Optional[_Union[AuditCheckpoint, _Mapping]] = ..., checkpoints_matched: _Optional[int] = ...) -> None: ...
