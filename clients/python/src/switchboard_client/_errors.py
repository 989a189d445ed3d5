"""SwitchboardError: a ConnectError with the gateway's typed error details decoded."""

from __future__ import annotations

from typing import TYPE_CHECKING

from connectrpc.errors import ConnectError
from google.protobuf.duration_pb2 import Duration
from google.protobuf.message import DecodeError

from buf.validate.validate_pb2 import Violations
from switchboard.v1.error_details_pb2 import (
    BudgetExceeded,
    CapabilityMissing,
    GuardrailViolation,
    ProviderAttempts,
    RateLimitExceeded,
)

if TYPE_CHECKING:
    from collections.abc import Iterable

    from connectrpc.code import Code
    from connectrpc.errors import ErrorDetail
    from protobuf import Message

_RETRY_INFO = "google.rpc.RetryInfo"

_DETAILS: dict[str, tuple[str, type]] = {
    "switchboard.v1.BudgetExceeded": ("budget_exceeded", BudgetExceeded),
    "switchboard.v1.RateLimitExceeded": ("rate_limit_exceeded", RateLimitExceeded),
    "switchboard.v1.GuardrailViolation": ("guardrail_violation", GuardrailViolation),
    "switchboard.v1.ProviderAttempts": ("provider_attempts", ProviderAttempts),
    "switchboard.v1.CapabilityMissing": ("capability_missing", CapabilityMissing),
    "buf.validate.Violations": ("violations", Violations),
}


class SwitchboardError(ConnectError):
    """A failed Switchboard call: the Connect code and message, with typed details decoded.

    It is a `connectrpc.errors.ConnectError` (``except ConnectError`` still catches it; the raw
    details stay in `.details`), raised ``from`` the original error, and takes the same
    arguments; `as_switchboard_error` converts a ConnectError. Each detail attribute is ``None``
    when the error does not carry that detail.

    Attributes:
        code: The `connectrpc.code.Code`.
        message: The server's message.
        budget_exceeded: The spend cap that refused the call (RESOURCE_EXHAUSTED).
        rate_limit_exceeded: The rate limit that refused the call, with its retry delay
            (RESOURCE_EXHAUSTED).
        guardrail_violation: The guardrail rule that blocked the request or answer
            (PERMISSION_DENIED).
        provider_attempts: Every provider attempt of a call whose providers failed
            (UNAVAILABLE, DEADLINE_EXCEEDED, INVALID_ARGUMENT, INTERNAL).
        capability_missing: What no target of the route can serve (FAILED_PRECONDITION).
        violations: The request fields that failed validation (INVALID_ARGUMENT).
        retry_delay: Seconds the server asked the caller to wait before retrying (from a
            ``google.rpc.RetryInfo`` detail or ``RateLimitExceeded.retry_delay``), or ``None``.
    """

    budget_exceeded: BudgetExceeded | None
    rate_limit_exceeded: RateLimitExceeded | None
    guardrail_violation: GuardrailViolation | None
    provider_attempts: ProviderAttempts | None
    capability_missing: CapabilityMissing | None
    violations: Violations | None
    retry_delay: float | None

    def __init__(
        self, code: Code, message: str, details: Iterable[Message | ErrorDetail] = ()
    ) -> None:
        super().__init__(code, message, details)
        self.budget_exceeded = None
        self.rate_limit_exceeded = None
        self.guardrail_violation = None
        self.provider_attempts = None
        self.capability_missing = None
        self.violations = None
        self.retry_delay = None
        for detail in self.details:
            self._decode(detail)
        if self.retry_delay is None and self.rate_limit_exceeded is not None:
            if self.rate_limit_exceeded.HasField("retry_delay"):
                self.retry_delay = _seconds(self.rate_limit_exceeded.retry_delay)

    def _decode(self, detail: ErrorDetail) -> None:
        # Decoded by type name with google.protobuf classes; a detail that does not parse is left
        # out (it stays in .details), never fatal.
        try:
            if detail.type_name == _RETRY_INFO:
                self.retry_delay = _retry_info_seconds(detail.message_bytes)
                return
            known = _DETAILS.get(detail.type_name)
            if known is not None:
                attribute, cls = known
                setattr(self, attribute, cls.FromString(detail.message_bytes))
        except (DecodeError, ValueError, IndexError):
            pass

    def __str__(self) -> str:
        return f"{self.code.value}: {self.message}"

    def __repr__(self) -> str:
        return f"SwitchboardError({self.code.value!r}, {self.message!r})"


def as_switchboard_error(error: ConnectError) -> SwitchboardError:
    """The error as a SwitchboardError (itself when it already is one)."""
    if isinstance(error, SwitchboardError):
        return error
    return SwitchboardError(error.code, error.message, error.details)


def _retry_info_seconds(data: bytes) -> float | None:
    """Reads google.rpc.RetryInfo (field 1: google.protobuf.Duration retry_delay) by hand, so the
    client needs no googleapis-common-protos for one message."""
    i = 0
    while i < len(data):
        key, i = _varint(data, i)
        field, wire_type = key >> 3, key & 7
        if wire_type == 0:
            _, i = _varint(data, i)
        elif wire_type == 1:
            i += 8
        elif wire_type == 5:
            i += 4
        elif wire_type == 2:
            length, i = _varint(data, i)
            value, i = data[i : i + length], i + length
            if field == 1:
                return _seconds(Duration.FromString(value))
        else:
            return None
    return None


def _seconds(duration: Duration) -> float:
    """A Duration in seconds, without datetime.timedelta: a delay out of timedelta's range (a
    malformed detail) is a large number the retry policy refuses, not an OverflowError."""
    return duration.seconds + duration.nanos / 1e9


def _varint(data: bytes, i: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = data[i]
        i += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, i
        shift += 7
