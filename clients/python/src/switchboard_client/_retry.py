"""The retry policy and the interceptors that apply it (and turn errors into SwitchboardError)."""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from connectrpc.code import Code
from connectrpc.errors import ConnectError

from ._errors import SwitchboardError, as_switchboard_error

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

    from connectrpc.request import RequestContext

REQ = TypeVar("REQ")
RES = TypeVar("RES")


@dataclass(frozen=True)
class RetryPolicy:
    """When and how long to wait before retrying a failed call.

    Only UNAVAILABLE is retried: the gateway (or the network) could not serve the call, so trying
    again may succeed. RESOURCE_EXHAUSTED is never retried: a budget does not come back by itself,
    and a rate limit says how long to wait. Retry ``n`` (1-based) waits a random time in
    ``[0, min(initial_backoff * 2**(n-1), max_backoff))`` ("full jitter"), raised to the delay
    the server asked for; a server delay over ``max_server_delay`` returns the error instead, and
    so does a wait that would outlast the call's timeout.

    Attributes:
        retries: Retries after the first attempt (0 disables them).
        initial_backoff: Seconds; the ceiling of the first retry's wait.
        max_backoff: Seconds; the ceiling of any retry's wait.
        max_server_delay: Seconds; a longer server delay is not waited for.
    """

    retries: int = 2
    initial_backoff: float = 0.25
    max_backoff: float = 5.0
    max_server_delay: float = 30.0
    jitter: Callable[[], float] = field(default=random.random, repr=False, compare=False)

    def backoff(self, retry: int) -> float:
        """The jittered wait before retry ``retry`` (1-based), before any server delay."""
        ceiling = min(self.initial_backoff * 2 ** (retry - 1), self.max_backoff)
        return self.jitter() * ceiling

    def delay(self, retry: int, error: SwitchboardError, remaining_ms: float | None) -> float | None:
        """Seconds to wait before retry ``retry`` after ``error``, or None to give up."""
        if retry > self.retries or error.code != Code.UNAVAILABLE:
            return None
        wait = self.backoff(retry)
        server = error.retry_delay
        if server is not None:
            if server < 0 or server > self.max_server_delay:
                return None
            wait = max(wait, server)
        if remaining_ms is not None and remaining_ms / 1000.0 <= wait:
            return None
        return wait


def _resend_remaining_timeout(ctx: RequestContext) -> None:
    """Before a retry: the timeout header connectrpc wrote once, when the call started, replaced
    by what is left of the call's timeout, so the gateway gets the deadline the client enforces
    (and stops its provider attempts at it) rather than the whole timeout again."""
    remaining = ctx.timeout_ms
    if remaining is None:
        return
    ms = max(1, int(remaining))
    headers = ctx.request_headers
    if "connect-timeout-ms" in headers:
        headers["connect-timeout-ms"] = str(ms)
    if "grpc-timeout" in headers:
        # The gRPC grammar allows at most eight digits.
        headers["grpc-timeout"] = f"{ms}m" if ms < 100_000_000 else f"{ms // 1000}S"


class RetryInterceptorSync:
    """Retries unary calls, and server streams that failed before their first message, as the
    policy decides; whatever fails leaves as a SwitchboardError."""

    def __init__(self, policy: RetryPolicy, sleep: Callable[[float], None] = time.sleep) -> None:
        self._policy = policy
        self._sleep = sleep

    def intercept_unary_sync(
        self, call_next: Callable[[REQ, RequestContext], RES], request: REQ, ctx: RequestContext, /
    ) -> RES:
        retry = 0
        while True:
            try:
                return call_next(request, ctx)
            except ConnectError as e:
                error = as_switchboard_error(e)
                retry += 1
                wait = self._policy.delay(retry, error, ctx.timeout_ms)
                if wait is None:
                    raise error from e
            self._sleep(wait)
            _resend_remaining_timeout(ctx)

    def intercept_server_stream_sync(
        self,
        call_next: Callable[[REQ, RequestContext], Iterator[RES]],
        request: REQ,
        ctx: RequestContext,
        /,
    ) -> Iterator[RES]:
        retry = 0
        while True:
            received = False
            responses = call_next(request, ctx)
            try:
                for message in responses:
                    received = True
                    yield message
                return
            except ConnectError as e:
                error = as_switchboard_error(e)
                retry += 1
                # Once a message reached the caller, a failure is the caller's to see: the
                # gateway never splices two providers' output into one stream, nor does this.
                wait = None if received else self._policy.delay(retry, error, ctx.timeout_ms)
                if wait is None:
                    raise error from e
            finally:
                close = getattr(responses, "close", None)
                if close is not None:
                    close()
            self._sleep(wait)
            _resend_remaining_timeout(ctx)


class RetryInterceptor:
    """The asyncio twin of RetryInterceptorSync."""

    def __init__(
        self, policy: RetryPolicy, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    ) -> None:
        self._policy = policy
        self._sleep = sleep

    async def intercept_unary(
        self,
        call_next: Callable[[REQ, RequestContext], Awaitable[RES]],
        request: REQ,
        ctx: RequestContext,
        /,
    ) -> RES:
        retry = 0
        while True:
            try:
                return await call_next(request, ctx)
            except ConnectError as e:
                error = as_switchboard_error(e)
                retry += 1
                wait = self._policy.delay(retry, error, ctx.timeout_ms)
                if wait is None:
                    raise error from e
            await self._sleep(wait)
            _resend_remaining_timeout(ctx)

    async def intercept_server_stream(
        self,
        call_next: Callable[[REQ, RequestContext], AsyncIterator[RES]],
        request: REQ,
        ctx: RequestContext,
        /,
    ) -> AsyncIterator[RES]:
        retry = 0
        while True:
            received = False
            responses = call_next(request, ctx)
            try:
                async for message in responses:
                    received = True
                    yield message
                return
            except ConnectError as e:
                error = as_switchboard_error(e)
                retry += 1
                wait = None if received else self._policy.delay(retry, error, ctx.timeout_ms)
                if wait is None:
                    raise error from e
            finally:
                aclose = getattr(responses, "aclose", None)
                if aclose is not None:
                    await aclose()
            await self._sleep(wait)
            _resend_remaining_timeout(ctx)
