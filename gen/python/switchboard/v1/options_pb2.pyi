from google.protobuf import descriptor_pb2 as _descriptor_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from typing import ClassVar as _ClassVar

DESCRIPTOR: _descriptor.FileDescriptor

class Scope(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SCOPE_UNSPECIFIED: _ClassVar[Scope]
    SCOPE_INVOKE: _ClassVar[Scope]
    SCOPE_TENANTS_READ: _ClassVar[Scope]
    SCOPE_TENANTS_WRITE: _ClassVar[Scope]
    SCOPE_KEYS_READ: _ClassVar[Scope]
    SCOPE_KEYS_WRITE: _ClassVar[Scope]
    SCOPE_CREDENTIALS_READ: _ClassVar[Scope]
    SCOPE_CREDENTIALS_WRITE: _ClassVar[Scope]
    SCOPE_ROUTES_READ: _ClassVar[Scope]
    SCOPE_ROUTES_WRITE: _ClassVar[Scope]
    SCOPE_BUDGETS_READ: _ClassVar[Scope]
    SCOPE_BUDGETS_WRITE: _ClassVar[Scope]
    SCOPE_PROMPTS_READ: _ClassVar[Scope]
    SCOPE_PROMPTS_WRITE: _ClassVar[Scope]
    SCOPE_USAGE_READ: _ClassVar[Scope]
    SCOPE_AUDIT_READ: _ClassVar[Scope]
    SCOPE_CACHE_READ: _ClassVar[Scope]
    SCOPE_CACHE_WRITE: _ClassVar[Scope]
    SCOPE_GUARDRAILS_READ: _ClassVar[Scope]
    SCOPE_GUARDRAILS_WRITE: _ClassVar[Scope]
    SCOPE_PLATFORM_ADMIN: _ClassVar[Scope]
SCOPE_UNSPECIFIED: Scope
SCOPE_INVOKE: Scope
SCOPE_TENANTS_READ: Scope
SCOPE_TENANTS_WRITE: Scope
SCOPE_KEYS_READ: Scope
SCOPE_KEYS_WRITE: Scope
SCOPE_CREDENTIALS_READ: Scope
SCOPE_CREDENTIALS_WRITE: Scope
SCOPE_ROUTES_READ: Scope
SCOPE_ROUTES_WRITE: Scope
SCOPE_BUDGETS_READ: Scope
SCOPE_BUDGETS_WRITE: Scope
SCOPE_PROMPTS_READ: Scope
SCOPE_PROMPTS_WRITE: Scope
SCOPE_USAGE_READ: Scope
SCOPE_AUDIT_READ: Scope
SCOPE_CACHE_READ: Scope
SCOPE_CACHE_WRITE: Scope
SCOPE_GUARDRAILS_READ: Scope
SCOPE_GUARDRAILS_WRITE: Scope
SCOPE_PLATFORM_ADMIN: Scope
REQUIRED_SCOPE_FIELD_NUMBER: _ClassVar[int]
required_scope: _descriptor.FieldDescriptor
CACHEABLE_FIELD_NUMBER: _ClassVar[int]
cacheable: _descriptor.FieldDescriptor
USER_CONTENT_FIELD_NUMBER: _ClassVar[int]
user_content: _descriptor.FieldDescriptor
SENSITIVE_FIELD_NUMBER: _ClassVar[int]
sensitive: _descriptor.FieldDescriptor
