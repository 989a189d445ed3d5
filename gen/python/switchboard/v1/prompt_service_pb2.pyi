import datetime

from buf.validate import validate_pb2 as _validate_pb2
from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from switchboard.v1 import chat_pb2 as _chat_pb2
from switchboard.v1 import common_pb2 as _common_pb2
from switchboard.v1 import options_pb2 as _options_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PromptTemplate(_message.Message):
    __slots__ = ("name", "verb", "description", "active_version", "latest_version", "attachments", "create_time", "update_time")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERB_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_VERSION_FIELD_NUMBER: _ClassVar[int]
    LATEST_VERSION_FIELD_NUMBER: _ClassVar[int]
    ATTACHMENTS_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    verb: _common_pb2.Verb
    description: str
    active_version: int
    latest_version: int
    attachments: _containers.RepeatedScalarFieldContainer[str]
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., verb: _Optional[_Union[_common_pb2.Verb, str]] = ..., description: _Optional[str] = ..., active_version: _Optional[int] = ..., latest_version: _Optional[int] = ..., attachments: _Optional[_Iterable[str]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class TemplateMessage(_message.Message):
    __slots__ = ("role", "template")
    ROLE_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    role: _chat_pb2.Role
    template: str
    def __init__(self, role: _Optional[_Union[_chat_pb2.Role, str]] = ..., template: _Optional[str] = ...) -> None: ...

class PromptVersion(_message.Message):
    __slots__ = ("name", "version", "messages", "variables", "description", "creator", "create_time")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    VARIABLES_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    CREATOR_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: int
    messages: _containers.RepeatedCompositeFieldContainer[TemplateMessage]
    variables: _containers.RepeatedScalarFieldContainer[str]
    description: str
    creator: str
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., version: _Optional[int] = ..., messages: _Optional[_Iterable[_Union[TemplateMessage, _Mapping]]] = ..., variables: _Optional[_Iterable[str]] = ..., description: _Optional[str] = ..., creator: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreatePromptTemplateRequest(_message.Message):
    __slots__ = ("parent", "prompt_id", "template", "first_version", "request_id")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    PROMPT_ID_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    FIRST_VERSION_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    parent: str
    prompt_id: str
    template: PromptTemplate
    first_version: PromptVersion
    request_id: str
    def __init__(self, parent: _Optional[str] = ..., prompt_id: _Optional[str] = ..., template: _Optional[_Union[PromptTemplate, _Mapping]] = ..., first_version: _Optional[_Union[PromptVersion, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class CreatePromptTemplateResponse(_message.Message):
    __slots__ = ("template", "version")
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    template: PromptTemplate
    version: PromptVersion
    def __init__(self, template: _Optional[_Union[PromptTemplate, _Mapping]] = ..., version: _Optional[_Union[PromptVersion, _Mapping]] = ...) -> None: ...

class GetPromptTemplateRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetPromptTemplateResponse(_message.Message):
    __slots__ = ("template",)
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    template: PromptTemplate
    def __init__(self, template: _Optional[_Union[PromptTemplate, _Mapping]] = ...) -> None: ...

class ListPromptTemplatesRequest(_message.Message):
    __slots__ = ("parent", "page_size", "page_token", "verb")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    VERB_FIELD_NUMBER: _ClassVar[int]
    parent: str
    page_size: int
    page_token: str
    verb: _common_pb2.Verb
    def __init__(self, parent: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., verb: _Optional[_Union[_common_pb2.Verb, str]] = ...) -> None: ...

class ListPromptTemplatesResponse(_message.Message):
    __slots__ = ("templates", "next_page_token")
    TEMPLATES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    templates: _containers.RepeatedCompositeFieldContainer[PromptTemplate]
    next_page_token: str
    def __init__(self, templates: _Optional[_Iterable[_Union[PromptTemplate, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdatePromptTemplateRequest(_message.Message):
    __slots__ = ("template", "update_mask")
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    template: PromptTemplate
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, template: _Optional[_Union[PromptTemplate, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class UpdatePromptTemplateResponse(_message.Message):
    __slots__ = ("template",)
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    template: PromptTemplate
    def __init__(self, template: _Optional[_Union[PromptTemplate, _Mapping]] = ...) -> None: ...

class DeletePromptTemplateRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class DeletePromptTemplateResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class CreatePromptVersionRequest(_message.Message):
    __slots__ = ("parent", "version", "activate", "request_id")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    ACTIVATE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    parent: str
    version: PromptVersion
    activate: bool
    request_id: str
    def __init__(self, parent: _Optional[str] = ..., version: _Optional[_Union[PromptVersion, _Mapping]] = ..., activate: _Optional[bool] = ..., request_id: _Optional[str] = ...) -> None: ...

class CreatePromptVersionResponse(_message.Message):
    __slots__ = ("version", "template")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    version: PromptVersion
    template: PromptTemplate
    def __init__(self, version: _Optional[_Union[PromptVersion, _Mapping]] = ..., template: _Optional[_Union[PromptTemplate, _Mapping]] = ...) -> None: ...

class GetPromptVersionRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetPromptVersionResponse(_message.Message):
    __slots__ = ("version",)
    VERSION_FIELD_NUMBER: _ClassVar[int]
    version: PromptVersion
    def __init__(self, version: _Optional[_Union[PromptVersion, _Mapping]] = ...) -> None: ...

class ListPromptVersionsRequest(_message.Message):
    __slots__ = ("parent", "page_size", "page_token")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    parent: str
    page_size: int
    page_token: str
    def __init__(self, parent: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListPromptVersionsResponse(_message.Message):
    __slots__ = ("versions", "next_page_token")
    VERSIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    versions: _containers.RepeatedCompositeFieldContainer[PromptVersion]
    next_page_token: str
    def __init__(self, versions: _Optional[_Iterable[_Union[PromptVersion, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ActivatePromptVersionRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ActivatePromptVersionResponse(_message.Message):
    __slots__ = ("template",)
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    template: PromptTemplate
    def __init__(self, template: _Optional[_Union[PromptTemplate, _Mapping]] = ...) -> None: ...

class RenderPromptPreviewRequest(_message.Message):
    __slots__ = ("prompt", "variables")
    class VariablesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    VARIABLES_FIELD_NUMBER: _ClassVar[int]
    prompt: _common_pb2.TemplateRef
    variables: _containers.ScalarMap[str, str]
    def __init__(self, prompt: _Optional[_Union[_common_pb2.TemplateRef, _Mapping]] = ..., variables: _Optional[_Mapping[str, str]] = ...) -> None: ...

class RenderPromptPreviewResponse(_message.Message):
    __slots__ = ("messages", "version")
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    messages: _containers.RepeatedCompositeFieldContainer[_chat_pb2.Message]
    version: int
    def __init__(self, messages: _Optional[_Iterable[_Union[_chat_pb2.Message, _Mapping]]] = ..., version: _Optional[int] = ...) -> None: ...
