import datetime

from buf.validate import validate_pb2 as _validate_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from switchboard.v1 import options_pb2 as _options_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetCacheStatsRequest(_message.Message):
    __slots__ = ("parent", "route")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    ROUTE_FIELD_NUMBER: _ClassVar[int]
    parent: str
    route: str
    def __init__(self, parent: _Optional[str] = ..., route: _Optional[str] = ...) -> None: ...

class GetCacheStatsResponse(_message.Message):
    __slots__ = ("exact_hits", "semantic_hits", "misses", "bypasses", "hit_ratio", "saved_micros_usd", "entries", "bytes", "since_time")
    EXACT_HITS_FIELD_NUMBER: _ClassVar[int]
    SEMANTIC_HITS_FIELD_NUMBER: _ClassVar[int]
    MISSES_FIELD_NUMBER: _ClassVar[int]
    BYPASSES_FIELD_NUMBER: _ClassVar[int]
    HIT_RATIO_FIELD_NUMBER: _ClassVar[int]
    SAVED_MICROS_USD_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    BYTES_FIELD_NUMBER: _ClassVar[int]
    SINCE_TIME_FIELD_NUMBER: _ClassVar[int]
    exact_hits: int
    semantic_hits: int
    misses: int
    bypasses: int
    hit_ratio: float
    saved_micros_usd: int
    entries: int
    bytes: int
    since_time: _timestamp_pb2.Timestamp
    def __init__(self, exact_hits: _Optional[int] = ..., semantic_hits: _Optional[int] = ..., misses: _Optional[int] = ..., bypasses: _Optional[int] = ..., hit_ratio: _Optional[float] = ..., saved_micros_usd: _Optional[int] = ..., entries: _Optional[int] = ..., bytes: _Optional[int] = ..., since_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class PurgeCacheRequest(_message.Message):
    __slots__ = ("parent", "route", "key_prefix")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    ROUTE_FIELD_NUMBER: _ClassVar[int]
    KEY_PREFIX_FIELD_NUMBER: _ClassVar[int]
    parent: str
    route: str
    key_prefix: str
    def __init__(self, parent: _Optional[str] = ..., route: _Optional[str] = ..., key_prefix: _Optional[str] = ...) -> None: ...

class PurgeCacheResponse(_message.Message):
    __slots__ = ("purged",)
    PURGED_FIELD_NUMBER: _ClassVar[int]
    purged: int
    def __init__(self, purged: _Optional[int] = ...) -> None: ...
