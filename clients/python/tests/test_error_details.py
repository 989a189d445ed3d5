"""Malformed error details and a malformed key against an in-process connectrpc (WSGI) server: the
caller must get the SwitchboardError (the details that could not be decoded left out), never a
crash out of the client's own decoding, and the key must never be part of an exception."""

from __future__ import annotations

import asyncio

import pytest
from connectrpc.code import Code
from connectrpc.errors import ConnectError, ErrorDetail
from google.protobuf.duration_pb2 import Duration
from protobuf.wkt import Any

from switchboard.v1.capability_service_connect import CapabilityServiceWSGIApplication
from switchboard.v1.capability_service_pb2 import ChatRequest
from switchboard.v1.error_details_pb2 import RateLimitExceeded
from switchboard_client import AsyncSwitchboardClient, SwitchboardClient, SwitchboardError
from switchboard_client._auth import AuthInterceptor, AuthInterceptorSync

from test_retry import FAST, Scripted, detail

# A Duration far outside google.protobuf.Duration's valid range (±315,576,000,000 s): what a
# buggy or hostile server (or a proxy) may put on the wire.
HUGE = Duration(seconds=10**15)


def huge_retry_info() -> ErrorDetail:
    body = HUGE.SerializeToString()
    return ErrorDetail(
        Any(type_url="type.googleapis.com/google.rpc.RetryInfo", value=bytes([0x0A, len(body)]) + body)
    )


def test_out_of_range_retry_info_surfaces_the_error(serve_wsgi) -> None:  # noqa: ANN001
    def chat(n: int) -> None:
        raise ConnectError(Code.UNAVAILABLE, "no target answered", [huge_retry_info()])

    svc = Scripted(chat=chat)
    with SwitchboardClient(serve_wsgi(CapabilityServiceWSGIApplication(svc)), "k", retry_policy=FAST) as client:
        with pytest.raises(SwitchboardError) as raised:
            client.chat(ChatRequest())
    assert raised.value.code == Code.UNAVAILABLE
    assert raised.value.message == "no target answered"
    assert svc.calls == 1, "a delay over max_server_delay is not waited for"


def test_out_of_range_rate_limit_delay_surfaces_the_error(serve_wsgi) -> None:  # noqa: ANN001
    def chat(n: int) -> None:
        raise ConnectError(Code.RESOURCE_EXHAUSTED, "rate limited", [detail(RateLimitExceeded(retry_delay=HUGE))])

    svc = Scripted(chat=chat)
    url = serve_wsgi(CapabilityServiceWSGIApplication(svc))

    async def call() -> SwitchboardError:
        async with AsyncSwitchboardClient(url, "k", retry_policy=FAST) as client:
            with pytest.raises(SwitchboardError) as raised:
                await client.chat(ChatRequest())
            return raised.value

    err = asyncio.run(call())
    assert err.code == Code.RESOURCE_EXHAUSTED
    assert svc.calls == 1


def test_key_read_with_its_newline_is_sent_without_it() -> None:
    """``SwitchboardClient(url, open("key").read())``: the whitespace around a key is not part of
    it (HTTP trims it from a header value too, and the TS client sends it trimmed)."""
    secret = "sb_live_0123456789abcdef"
    assert AuthInterceptorSync(secret + "\n")._value == f"Bearer {secret}"
    assert AuthInterceptor(" " + secret + "\r\n")._value == f"Bearer {secret}"


def test_key_with_a_control_character_is_refused_without_quoting_it() -> None:
    """A control character inside the key cannot be sent; the error raised says so and never
    carries the key (the HTTP layer's own error quotes the whole header value)."""
    secret = "sb_live_0123456789abcdef"
    for bad in (secret[:8] + "\n" + secret[8:], secret + "\x00"):
        with pytest.raises(ValueError) as caught:
            SwitchboardClient("http://127.0.0.1:9", bad, retry_policy=FAST)
        shown = f"{caught.value} {caught.value!r}"
        assert secret[8:] not in shown and secret[:8] not in shown, f"the API key is in the exception: {shown}"
