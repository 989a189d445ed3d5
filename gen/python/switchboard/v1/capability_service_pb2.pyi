from buf.validate import validate_pb2 as _validate_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from switchboard.v1 import chat_pb2 as _chat_pb2
from switchboard.v1 import common_pb2 as _common_pb2
from switchboard.v1 import error_details_pb2 as _error_details_pb2
from switchboard.v1 import options_pb2 as _options_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SummaryStyle(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SUMMARY_STYLE_UNSPECIFIED: _ClassVar[SummaryStyle]
    SUMMARY_STYLE_PARAGRAPH: _ClassVar[SummaryStyle]
    SUMMARY_STYLE_BULLETS: _ClassVar[SummaryStyle]
    SUMMARY_STYLE_HEADLINE: _ClassVar[SummaryStyle]

class TruncationReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TRUNCATION_REASON_UNSPECIFIED: _ClassVar[TruncationReason]
    TRUNCATION_REASON_DEADLINE: _ClassVar[TruncationReason]
    TRUNCATION_REASON_IDLE_TIMEOUT: _ClassVar[TruncationReason]
    TRUNCATION_REASON_GUARDRAIL: _ClassVar[TruncationReason]

class EmbeddingInputType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EMBEDDING_INPUT_TYPE_UNSPECIFIED: _ClassVar[EmbeddingInputType]
    EMBEDDING_INPUT_TYPE_DOCUMENT: _ClassVar[EmbeddingInputType]
    EMBEDDING_INPUT_TYPE_QUERY: _ClassVar[EmbeddingInputType]
SUMMARY_STYLE_UNSPECIFIED: SummaryStyle
SUMMARY_STYLE_PARAGRAPH: SummaryStyle
SUMMARY_STYLE_BULLETS: SummaryStyle
SUMMARY_STYLE_HEADLINE: SummaryStyle
TRUNCATION_REASON_UNSPECIFIED: TruncationReason
TRUNCATION_REASON_DEADLINE: TruncationReason
TRUNCATION_REASON_IDLE_TIMEOUT: TruncationReason
TRUNCATION_REASON_GUARDRAIL: TruncationReason
EMBEDDING_INPUT_TYPE_UNSPECIFIED: EmbeddingInputType
EMBEDDING_INPUT_TYPE_DOCUMENT: EmbeddingInputType
EMBEDDING_INPUT_TYPE_QUERY: EmbeddingInputType

class SummarizeRequest(_message.Message):
    __slots__ = ("options", "text", "style", "max_words", "bullet_count", "focus", "language")
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    STYLE_FIELD_NUMBER: _ClassVar[int]
    MAX_WORDS_FIELD_NUMBER: _ClassVar[int]
    BULLET_COUNT_FIELD_NUMBER: _ClassVar[int]
    FOCUS_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    options: _common_pb2.RequestOptions
    text: str
    style: SummaryStyle
    max_words: int
    bullet_count: int
    focus: str
    language: str
    def __init__(self, options: _Optional[_Union[_common_pb2.RequestOptions, _Mapping]] = ..., text: _Optional[str] = ..., style: _Optional[_Union[SummaryStyle, str]] = ..., max_words: _Optional[int] = ..., bullet_count: _Optional[int] = ..., focus: _Optional[str] = ..., language: _Optional[str] = ...) -> None: ...

class SummarizeResponse(_message.Message):
    __slots__ = ("summary", "bullets", "chunks", "usage")
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    BULLETS_FIELD_NUMBER: _ClassVar[int]
    CHUNKS_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    summary: str
    bullets: _containers.RepeatedScalarFieldContainer[str]
    chunks: int
    usage: _common_pb2.Usage
    def __init__(self, summary: _Optional[str] = ..., bullets: _Optional[_Iterable[str]] = ..., chunks: _Optional[int] = ..., usage: _Optional[_Union[_common_pb2.Usage, _Mapping]] = ...) -> None: ...

class Label(_message.Message):
    __slots__ = ("name", "description")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ...) -> None: ...

class ClassifyRequest(_message.Message):
    __slots__ = ("options", "text", "labels", "multi_label", "instructions")
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    MULTI_LABEL_FIELD_NUMBER: _ClassVar[int]
    INSTRUCTIONS_FIELD_NUMBER: _ClassVar[int]
    options: _common_pb2.RequestOptions
    text: str
    labels: _containers.RepeatedCompositeFieldContainer[Label]
    multi_label: bool
    instructions: str
    def __init__(self, options: _Optional[_Union[_common_pb2.RequestOptions, _Mapping]] = ..., text: _Optional[str] = ..., labels: _Optional[_Iterable[_Union[Label, _Mapping]]] = ..., multi_label: _Optional[bool] = ..., instructions: _Optional[str] = ...) -> None: ...

class LabelScore(_message.Message):
    __slots__ = ("name", "score")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    name: str
    score: float
    def __init__(self, name: _Optional[str] = ..., score: _Optional[float] = ...) -> None: ...

class ClassifyResponse(_message.Message):
    __slots__ = ("labels", "usage")
    LABELS_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    labels: _containers.RepeatedCompositeFieldContainer[LabelScore]
    usage: _common_pb2.Usage
    def __init__(self, labels: _Optional[_Iterable[_Union[LabelScore, _Mapping]]] = ..., usage: _Optional[_Union[_common_pb2.Usage, _Mapping]] = ...) -> None: ...

class ExtractRequest(_message.Message):
    __slots__ = ("options", "text", "json_schema", "instructions")
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    JSON_SCHEMA_FIELD_NUMBER: _ClassVar[int]
    INSTRUCTIONS_FIELD_NUMBER: _ClassVar[int]
    options: _common_pb2.RequestOptions
    text: str
    json_schema: _struct_pb2.Struct
    instructions: str
    def __init__(self, options: _Optional[_Union[_common_pb2.RequestOptions, _Mapping]] = ..., text: _Optional[str] = ..., json_schema: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., instructions: _Optional[str] = ...) -> None: ...

class ExtractResponse(_message.Message):
    __slots__ = ("data", "json", "repaired", "usage")
    DATA_FIELD_NUMBER: _ClassVar[int]
    JSON_FIELD_NUMBER: _ClassVar[int]
    REPAIRED_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    data: _struct_pb2.Struct
    json: str
    repaired: bool
    usage: _common_pb2.Usage
    def __init__(self, data: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., json: _Optional[str] = ..., repaired: _Optional[bool] = ..., usage: _Optional[_Union[_common_pb2.Usage, _Mapping]] = ...) -> None: ...

class Source(_message.Message):
    __slots__ = ("id", "title", "text", "url")
    ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    id: str
    title: str
    text: str
    url: str
    def __init__(self, id: _Optional[str] = ..., title: _Optional[str] = ..., text: _Optional[str] = ..., url: _Optional[str] = ...) -> None: ...

class AnswerRequest(_message.Message):
    __slots__ = ("options", "question", "sources", "require_citations", "instructions")
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    QUESTION_FIELD_NUMBER: _ClassVar[int]
    SOURCES_FIELD_NUMBER: _ClassVar[int]
    REQUIRE_CITATIONS_FIELD_NUMBER: _ClassVar[int]
    INSTRUCTIONS_FIELD_NUMBER: _ClassVar[int]
    options: _common_pb2.RequestOptions
    question: str
    sources: _containers.RepeatedCompositeFieldContainer[Source]
    require_citations: bool
    instructions: str
    def __init__(self, options: _Optional[_Union[_common_pb2.RequestOptions, _Mapping]] = ..., question: _Optional[str] = ..., sources: _Optional[_Iterable[_Union[Source, _Mapping]]] = ..., require_citations: _Optional[bool] = ..., instructions: _Optional[str] = ...) -> None: ...

class Citation(_message.Message):
    __slots__ = ("source_id", "quote", "start", "end")
    SOURCE_ID_FIELD_NUMBER: _ClassVar[int]
    QUOTE_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    source_id: str
    quote: str
    start: int
    end: int
    def __init__(self, source_id: _Optional[str] = ..., quote: _Optional[str] = ..., start: _Optional[int] = ..., end: _Optional[int] = ...) -> None: ...

class AnswerResponse(_message.Message):
    __slots__ = ("answer", "citations", "dropped_citations", "answerable", "usage")
    ANSWER_FIELD_NUMBER: _ClassVar[int]
    CITATIONS_FIELD_NUMBER: _ClassVar[int]
    DROPPED_CITATIONS_FIELD_NUMBER: _ClassVar[int]
    ANSWERABLE_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    answer: str
    citations: _containers.RepeatedCompositeFieldContainer[Citation]
    dropped_citations: _containers.RepeatedCompositeFieldContainer[Citation]
    answerable: bool
    usage: _common_pb2.Usage
    def __init__(self, answer: _Optional[str] = ..., citations: _Optional[_Iterable[_Union[Citation, _Mapping]]] = ..., dropped_citations: _Optional[_Iterable[_Union[Citation, _Mapping]]] = ..., answerable: _Optional[bool] = ..., usage: _Optional[_Union[_common_pb2.Usage, _Mapping]] = ...) -> None: ...

class ChatRequest(_message.Message):
    __slots__ = ("options", "messages", "tools", "tool_choice", "response_format", "top_p", "stop", "seed", "parallel_tool_calls", "frequency_penalty", "presence_penalty")
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    TOOLS_FIELD_NUMBER: _ClassVar[int]
    TOOL_CHOICE_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_FORMAT_FIELD_NUMBER: _ClassVar[int]
    TOP_P_FIELD_NUMBER: _ClassVar[int]
    STOP_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    PARALLEL_TOOL_CALLS_FIELD_NUMBER: _ClassVar[int]
    FREQUENCY_PENALTY_FIELD_NUMBER: _ClassVar[int]
    PRESENCE_PENALTY_FIELD_NUMBER: _ClassVar[int]
    options: _common_pb2.RequestOptions
    messages: _containers.RepeatedCompositeFieldContainer[_chat_pb2.Message]
    tools: _containers.RepeatedCompositeFieldContainer[_chat_pb2.Tool]
    tool_choice: _chat_pb2.ToolChoice
    response_format: _chat_pb2.ResponseFormat
    top_p: float
    stop: _containers.RepeatedScalarFieldContainer[str]
    seed: int
    parallel_tool_calls: bool
    frequency_penalty: float
    presence_penalty: float
    def __init__(self, options: _Optional[_Union[_common_pb2.RequestOptions, _Mapping]] = ..., messages: _Optional[_Iterable[_Union[_chat_pb2.Message, _Mapping]]] = ..., tools: _Optional[_Iterable[_Union[_chat_pb2.Tool, _Mapping]]] = ..., tool_choice: _Optional[_Union[_chat_pb2.ToolChoice, _Mapping]] = ..., response_format: _Optional[_Union[_chat_pb2.ResponseFormat, _Mapping]] = ..., top_p: _Optional[float] = ..., stop: _Optional[_Iterable[str]] = ..., seed: _Optional[int] = ..., parallel_tool_calls: _Optional[bool] = ..., frequency_penalty: _Optional[float] = ..., presence_penalty: _Optional[float] = ...) -> None: ...

class ChatResponse(_message.Message):
    __slots__ = ("message", "finish_reason", "usage")
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    FINISH_REASON_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    message: _chat_pb2.Message
    finish_reason: _chat_pb2.FinishReason
    usage: _common_pb2.Usage
    def __init__(self, message: _Optional[_Union[_chat_pb2.Message, _Mapping]] = ..., finish_reason: _Optional[_Union[_chat_pb2.FinishReason, str]] = ..., usage: _Optional[_Union[_common_pb2.Usage, _Mapping]] = ...) -> None: ...

class ChatStreamRequest(_message.Message):
    __slots__ = ("options", "messages", "tools", "tool_choice", "response_format", "top_p", "stop", "seed", "parallel_tool_calls", "frequency_penalty", "presence_penalty")
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    TOOLS_FIELD_NUMBER: _ClassVar[int]
    TOOL_CHOICE_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_FORMAT_FIELD_NUMBER: _ClassVar[int]
    TOP_P_FIELD_NUMBER: _ClassVar[int]
    STOP_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    PARALLEL_TOOL_CALLS_FIELD_NUMBER: _ClassVar[int]
    FREQUENCY_PENALTY_FIELD_NUMBER: _ClassVar[int]
    PRESENCE_PENALTY_FIELD_NUMBER: _ClassVar[int]
    options: _common_pb2.RequestOptions
    messages: _containers.RepeatedCompositeFieldContainer[_chat_pb2.Message]
    tools: _containers.RepeatedCompositeFieldContainer[_chat_pb2.Tool]
    tool_choice: _chat_pb2.ToolChoice
    response_format: _chat_pb2.ResponseFormat
    top_p: float
    stop: _containers.RepeatedScalarFieldContainer[str]
    seed: int
    parallel_tool_calls: bool
    frequency_penalty: float
    presence_penalty: float
    def __init__(self, options: _Optional[_Union[_common_pb2.RequestOptions, _Mapping]] = ..., messages: _Optional[_Iterable[_Union[_chat_pb2.Message, _Mapping]]] = ..., tools: _Optional[_Iterable[_Union[_chat_pb2.Tool, _Mapping]]] = ..., tool_choice: _Optional[_Union[_chat_pb2.ToolChoice, _Mapping]] = ..., response_format: _Optional[_Union[_chat_pb2.ResponseFormat, _Mapping]] = ..., top_p: _Optional[float] = ..., stop: _Optional[_Iterable[str]] = ..., seed: _Optional[int] = ..., parallel_tool_calls: _Optional[bool] = ..., frequency_penalty: _Optional[float] = ..., presence_penalty: _Optional[float] = ...) -> None: ...

class StreamStarted(_message.Message):
    __slots__ = ("request_id", "provider", "model", "cache_status")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    CACHE_STATUS_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    provider: str
    model: str
    cache_status: _common_pb2.CacheStatus
    def __init__(self, request_id: _Optional[str] = ..., provider: _Optional[str] = ..., model: _Optional[str] = ..., cache_status: _Optional[_Union[_common_pb2.CacheStatus, str]] = ...) -> None: ...

class TextDelta(_message.Message):
    __slots__ = ("text",)
    TEXT_FIELD_NUMBER: _ClassVar[int]
    text: str
    def __init__(self, text: _Optional[str] = ...) -> None: ...

class ToolCallDelta(_message.Message):
    __slots__ = ("index", "id", "name", "arguments_delta")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ARGUMENTS_DELTA_FIELD_NUMBER: _ClassVar[int]
    index: int
    id: str
    name: str
    arguments_delta: str
    def __init__(self, index: _Optional[int] = ..., id: _Optional[str] = ..., name: _Optional[str] = ..., arguments_delta: _Optional[str] = ...) -> None: ...

class StreamCompleted(_message.Message):
    __slots__ = ("finish_reason", "usage")
    FINISH_REASON_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    finish_reason: _chat_pb2.FinishReason
    usage: _common_pb2.Usage
    def __init__(self, finish_reason: _Optional[_Union[_chat_pb2.FinishReason, str]] = ..., usage: _Optional[_Union[_common_pb2.Usage, _Mapping]] = ...) -> None: ...

class StreamTruncated(_message.Message):
    __slots__ = ("reason", "usage", "guardrail")
    REASON_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    GUARDRAIL_FIELD_NUMBER: _ClassVar[int]
    reason: TruncationReason
    usage: _common_pb2.Usage
    guardrail: _error_details_pb2.GuardrailViolation
    def __init__(self, reason: _Optional[_Union[TruncationReason, str]] = ..., usage: _Optional[_Union[_common_pb2.Usage, _Mapping]] = ..., guardrail: _Optional[_Union[_error_details_pb2.GuardrailViolation, _Mapping]] = ...) -> None: ...

class StreamUpstreamError(_message.Message):
    __slots__ = ("code", "message", "usage")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    code: str
    message: str
    usage: _common_pb2.Usage
    def __init__(self, code: _Optional[str] = ..., message: _Optional[str] = ..., usage: _Optional[_Union[_common_pb2.Usage, _Mapping]] = ...) -> None: ...

class StreamBudgetExhausted(_message.Message):
    __slots__ = ("budget", "usage")
    BUDGET_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    budget: _error_details_pb2.BudgetExceeded
    usage: _common_pb2.Usage
    def __init__(self, budget: _Optional[_Union[_error_details_pb2.BudgetExceeded, _Mapping]] = ..., usage: _Optional[_Union[_common_pb2.Usage, _Mapping]] = ...) -> None: ...

class ChatStreamResponse(_message.Message):
    __slots__ = ("started", "delta", "tool_call_delta", "completed", "truncated", "upstream_error", "budget_exhausted")
    STARTED_FIELD_NUMBER: _ClassVar[int]
    DELTA_FIELD_NUMBER: _ClassVar[int]
    TOOL_CALL_DELTA_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_FIELD_NUMBER: _ClassVar[int]
    TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    UPSTREAM_ERROR_FIELD_NUMBER: _ClassVar[int]
    BUDGET_EXHAUSTED_FIELD_NUMBER: _ClassVar[int]
    started: StreamStarted
    delta: TextDelta
    tool_call_delta: ToolCallDelta
    completed: StreamCompleted
    truncated: StreamTruncated
    upstream_error: StreamUpstreamError
    budget_exhausted: StreamBudgetExhausted
    def __init__(self, started: _Optional[_Union[StreamStarted, _Mapping]] = ..., delta: _Optional[_Union[TextDelta, _Mapping]] = ..., tool_call_delta: _Optional[_Union[ToolCallDelta, _Mapping]] = ..., completed: _Optional[_Union[StreamCompleted, _Mapping]] = ..., truncated: _Optional[_Union[StreamTruncated, _Mapping]] = ..., upstream_error: _Optional[_Union[StreamUpstreamError, _Mapping]] = ..., budget_exhausted: _Optional[_Union[StreamBudgetExhausted, _Mapping]] = ...) -> None: ...

class EmbedRequest(_message.Message):
    __slots__ = ("options", "inputs", "dimensions", "input_type")
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    DIMENSIONS_FIELD_NUMBER: _ClassVar[int]
    INPUT_TYPE_FIELD_NUMBER: _ClassVar[int]
    options: _common_pb2.RequestOptions
    inputs: _containers.RepeatedScalarFieldContainer[str]
    dimensions: int
    input_type: EmbeddingInputType
    def __init__(self, options: _Optional[_Union[_common_pb2.RequestOptions, _Mapping]] = ..., inputs: _Optional[_Iterable[str]] = ..., dimensions: _Optional[int] = ..., input_type: _Optional[_Union[EmbeddingInputType, str]] = ...) -> None: ...

class Embedding(_message.Message):
    __slots__ = ("index", "values")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    index: int
    values: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, index: _Optional[int] = ..., values: _Optional[_Iterable[float]] = ...) -> None: ...

class EmbedResponse(_message.Message):
    __slots__ = ("embeddings", "dimensions", "usage")
    EMBEDDINGS_FIELD_NUMBER: _ClassVar[int]
    DIMENSIONS_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    embeddings: _containers.RepeatedCompositeFieldContainer[Embedding]
    dimensions: int
    usage: _common_pb2.Usage
    def __init__(self, embeddings: _Optional[_Iterable[_Union[Embedding, _Mapping]]] = ..., dimensions: _Optional[int] = ..., usage: _Optional[_Union[_common_pb2.Usage, _Mapping]] = ...) -> None: ...
