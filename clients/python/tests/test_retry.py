"""The retry policy, error decoding and the key against an in-process connectrpc (WSGI) server:
no gateway needed. Mirrors clients/go/retry_test.go."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

import pytest
from connectrpc.code import Code
from connectrpc.errors import ConnectError, ErrorDetail
from google.protobuf.duration_pb2 import Duration
from protobuf.wkt import Any

from switchboard.v1.capability_service_connect import (
    CapabilityServiceSync,
    CapabilityServiceWSGIApplication,
)
from switchboard.v1.capability_service_pb2 import (
    ChatRequest,
    ChatResponse,
    ChatStreamRequest,
    ChatStreamResponse,
    StreamCompleted,
    TextDelta,
)
from switchboard.v1.common_pb2 import Attempt
from switchboard.v1.error_details_pb2 import BudgetExceeded, ProviderAttempts, RateLimitExceeded
from switchboard_client import AsyncSwitchboardClient, RetryPolicy, SwitchboardClient, SwitchboardError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from google.protobuf.message import Message

FAST = RetryPolicy(retries=2, initial_backoff=0.001, max_backoff=0.002)


def detail(message: Message) -> ErrorDetail:
    """A google.protobuf message as a connectrpc error detail."""
    return ErrorDetail(
        Any(type_url=f"type.googleapis.com/{message.DESCRIPTOR.full_name}", value=message.SerializeToString())
    )


def retry_info(seconds: float) -> ErrorDetail:
    """google.rpc.RetryInfo{retry_delay}, encoded by hand (field 1, length-delimited)."""
    delay = Duration()
    delay.FromTimedelta(__import__("datetime").timedelta(seconds=seconds))
    body = delay.SerializeToString()
    return ErrorDetail(
        Any(type_url="type.googleapis.com/google.rpc.RetryInfo", value=bytes([0x0A, len(body)]) + body)
    )


def attempts() -> ErrorDetail:
    return detail(
        ProviderAttempts(route="fast", attempts=[Attempt(index=1, provider="sandbox", outcome=3)])
    )


class Scripted(CapabilityServiceSync):
    """Answers Chat and ChatStream call by call: ``chat(n)`` / ``stream(n)`` for the n-th call."""

    def __init__(
        self,
        chat: Callable[[int], None] | None = None,
        stream: Callable[[int], Iterator[ChatStreamResponse]] | None = None,
    ) -> None:
        self.calls = 0
        self.auth: str | None = None
        self._chat = chat
        self._stream = stream

    def chat(self, request: ChatRequest, ctx) -> ChatResponse:  # noqa: ANN001
        self.calls += 1
        self.auth = ctx.request_headers.get("authorization")
        assert self._chat is not None
        self._chat(self.calls)
        return ChatResponse(finish_reason=1)

    def chat_stream(self, request: ChatStreamRequest, ctx) -> Iterator[ChatStreamResponse]:  # noqa: ANN001
        self.calls += 1
        self.auth = ctx.request_headers.get("authorization")
        assert self._stream is not None
        return self._stream(self.calls)


def unavailable(*details: ErrorDetail) -> ConnectError:
    return ConnectError(Code.UNAVAILABLE, "no target answered", details)


def test_retries_unavailable_until_success(serve_wsgi) -> None:  # noqa: ANN001
    def chat(n: int) -> None:
        if n < 3:
            raise unavailable()

    svc = Scripted(chat=chat)
    with SwitchboardClient(serve_wsgi(CapabilityServiceWSGIApplication(svc)), "sb_test_key", retry_policy=FAST) as client:
        assert client.chat(ChatRequest()).finish_reason == 1
    assert svc.calls == 3
    assert svc.auth == "Bearer sb_test_key"


def test_gives_up_after_retries_with_decoded_error(serve_wsgi) -> None:  # noqa: ANN001
    def chat(n: int) -> None:
        raise unavailable(attempts())

    svc = Scripted(chat=chat)
    with SwitchboardClient(serve_wsgi(CapabilityServiceWSGIApplication(svc)), "k", retry_policy=FAST) as client:
        with pytest.raises(SwitchboardError) as raised:
            client.chat(ChatRequest())
    assert svc.calls == 3
    err = raised.value
    assert isinstance(err, ConnectError)
    assert err.code == Code.UNAVAILABLE
    assert err.message == "no target answered"
    assert err.provider_attempts is not None
    assert err.provider_attempts.route == "fast"
    assert [a.provider for a in err.provider_attempts.attempts] == ["sandbox"]


def test_never_retries_resource_exhausted(serve_wsgi) -> None:  # noqa: ANN001
    budget = BudgetExceeded(level=3, budget="orgs/a/budgets/b", limit_micros_usd=1_000_000)
    rate = RateLimitExceeded(dimension=1, retry_delay=Duration(nanos=1_000_000))

    def chat(n: int) -> None:
        raise ConnectError(Code.RESOURCE_EXHAUSTED, "budget exceeded", [detail(budget), detail(rate)])

    svc = Scripted(chat=chat)
    with SwitchboardClient(serve_wsgi(CapabilityServiceWSGIApplication(svc)), "k", retry_policy=FAST) as client:
        with pytest.raises(SwitchboardError) as raised:
            client.chat(ChatRequest())
    assert svc.calls == 1, "RESOURCE_EXHAUSTED must not be retried"
    err = raised.value
    assert err.code == Code.RESOURCE_EXHAUSTED
    assert err.budget_exceeded == budget
    assert err.rate_limit_exceeded == rate
    assert err.retry_delay == pytest.approx(0.001)


@pytest.mark.parametrize(
    "code",
    [Code.INVALID_ARGUMENT, Code.DEADLINE_EXCEEDED, Code.INTERNAL, Code.PERMISSION_DENIED, Code.NOT_FOUND],
)
def test_other_codes_are_not_retried(serve_wsgi, code: Code) -> None:  # noqa: ANN001
    def chat(n: int) -> None:
        raise ConnectError(code, "no")

    svc = Scripted(chat=chat)
    with SwitchboardClient(serve_wsgi(CapabilityServiceWSGIApplication(svc)), "k", retry_policy=FAST) as client:
        with pytest.raises(SwitchboardError) as raised:
            client.chat(ChatRequest())
    assert (svc.calls, raised.value.code) == (1, code)


def test_honours_server_retry_delay(serve_wsgi) -> None:  # noqa: ANN001
    def chat(n: int) -> None:
        if n == 1:
            raise unavailable(retry_info(0.3))

    svc = Scripted(chat=chat)
    with SwitchboardClient(serve_wsgi(CapabilityServiceWSGIApplication(svc)), "k", retry_policy=FAST) as client:
        start = time.monotonic()
        client.chat(ChatRequest())
        assert time.monotonic() - start >= 0.3
    assert svc.calls == 2


def test_does_not_wait_past_the_timeout(serve_wsgi) -> None:  # noqa: ANN001
    def chat(n: int) -> None:
        raise unavailable(retry_info(5))

    svc = Scripted(chat=chat)
    url = serve_wsgi(CapabilityServiceWSGIApplication(svc))
    with SwitchboardClient(url, "k", retry_policy=FAST, timeout=1) as client:
        start = time.monotonic()
        with pytest.raises(SwitchboardError) as raised:
            client.chat(ChatRequest())
        assert time.monotonic() - start < 0.5
    assert (svc.calls, raised.value.code) == (1, Code.UNAVAILABLE)


def test_retry_sends_the_remaining_deadline(serve_wsgi) -> None:  # noqa: ANN001
    """The timeout spans every retry, so a retry must tell the gateway what is left of it, not the
    whole timeout again (the gateway stops its provider attempts at the deadline it is sent)."""
    seen: list[int] = []

    class Recording(Scripted):
        def chat(self, request: ChatRequest, ctx) -> ChatResponse:  # noqa: ANN001
            seen.append(int(ctx.request_headers.get("connect-timeout-ms")))
            return super().chat(request, ctx)

    def chat(n: int) -> None:
        if n == 1:
            raise unavailable(retry_info(0.5))

    url = serve_wsgi(CapabilityServiceWSGIApplication(Recording(chat=chat)))
    with SwitchboardClient(url, "k", retry_policy=FAST, timeout=5) as client:
        client.chat(ChatRequest())
    assert seen[0] == 5000
    assert 1000 < seen[1] <= 4500, f"the retry sent {seen[1]} ms, not what was left of the 5 s timeout"

    seen.clear()
    url = serve_wsgi(CapabilityServiceWSGIApplication(Recording(chat=chat)))

    async def call() -> None:
        async with AsyncSwitchboardClient(url, "k", retry_policy=FAST, timeout=5) as client:
            await client.chat(ChatRequest())

    asyncio.run(call())
    assert seen[0] == 5000
    assert 1000 < seen[1] <= 4500, f"the async retry sent {seen[1]} ms, not what was left of the 5 s timeout"


def test_stream_retried_only_before_its_first_message(serve_wsgi) -> None:  # noqa: ANN001
    def flaky_start(n: int) -> Iterator[ChatStreamResponse]:
        if n == 1:
            raise unavailable()
        yield ChatStreamResponse(delta=TextDelta(text="hi"))
        yield ChatStreamResponse(completed=StreamCompleted(finish_reason=1))

    svc = Scripted(stream=flaky_start)
    with SwitchboardClient(serve_wsgi(CapabilityServiceWSGIApplication(svc)), "k", retry_policy=FAST) as client:
        events = [e.WhichOneof("event") for e in client.chat_stream(ChatStreamRequest())]
    assert events == ["delta", "completed"]
    assert svc.calls == 2
    assert svc.auth == "Bearer k"

    def cut(n: int) -> Iterator[ChatStreamResponse]:
        yield ChatStreamResponse(delta=TextDelta(text="half"))
        raise unavailable(attempts())

    svc = Scripted(stream=cut)
    with SwitchboardClient(serve_wsgi(CapabilityServiceWSGIApplication(svc)), "k", retry_policy=FAST) as client:
        received = []
        with pytest.raises(SwitchboardError) as raised:
            for event in client.chat_stream(ChatStreamRequest()):
                received.append(event.WhichOneof("event"))
    assert received == ["delta"]
    assert svc.calls == 1, "a stream that delivered a message must not be retried"
    assert raised.value.code == Code.UNAVAILABLE
    assert raised.value.provider_attempts is not None


def test_retries_can_be_disabled(serve_wsgi) -> None:  # noqa: ANN001
    def chat(n: int) -> None:
        raise unavailable()

    svc = Scripted(chat=chat)
    with SwitchboardClient(serve_wsgi(CapabilityServiceWSGIApplication(svc)), "k", retries=0) as client:
        with pytest.raises(SwitchboardError):
            client.chat(ChatRequest())
    assert svc.calls == 1


def test_async_client_retries_and_decodes(serve_wsgi) -> None:  # noqa: ANN001
    def chat(n: int) -> None:
        if n == 1:
            raise unavailable()
        raise ConnectError(Code.RESOURCE_EXHAUSTED, "over", [detail(BudgetExceeded(budget="orgs/a/budgets/b"))])

    svc = Scripted(chat=chat)
    url = serve_wsgi(CapabilityServiceWSGIApplication(svc))

    async def call() -> SwitchboardError:
        async with AsyncSwitchboardClient(url, "k", retry_policy=FAST) as client:
            with pytest.raises(SwitchboardError) as raised:
                await client.chat(ChatRequest())
            return raised.value

    err = asyncio.run(call())
    assert svc.calls == 2
    assert err.code == Code.RESOURCE_EXHAUSTED
    assert err.budget_exceeded is not None and err.budget_exceeded.budget == "orgs/a/budgets/b"


class TestPolicy:
    def test_backoff_is_full_jitter_under_a_capped_exponential(self) -> None:
        top = RetryPolicy(initial_backoff=0.1, max_backoff=0.35, jitter=lambda: 0.999999)
        assert [round(top.backoff(n), 3) for n in (1, 2, 3, 10)] == [0.1, 0.2, 0.35, 0.35]
        bottom = RetryPolicy(initial_backoff=0.1, max_backoff=0.35, jitter=lambda: 0.0)
        assert bottom.backoff(3) == 0.0

    def test_delay_decision(self) -> None:
        policy = RetryPolicy(retries=2, initial_backoff=0.25, jitter=lambda: 0.5)

        def err(code: Code, *details: ErrorDetail) -> SwitchboardError:
            return SwitchboardError(code, "x", details)

        assert policy.delay(1, err(Code.UNAVAILABLE), None) == pytest.approx(0.125)
        assert policy.delay(3, err(Code.UNAVAILABLE), None) is None
        assert policy.delay(1, err(Code.RESOURCE_EXHAUSTED), None) is None
        assert policy.delay(1, err(Code.UNAVAILABLE, retry_info(0.9)), None) == pytest.approx(0.9)
        assert policy.delay(1, err(Code.UNAVAILABLE, retry_info(60)), None) is None
        assert policy.delay(1, err(Code.UNAVAILABLE, retry_info(0.9)), 500) is None
