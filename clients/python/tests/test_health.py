"""Calls grpc.health.v1.Health/Check on a running Switchboard (SWITCHBOARD_URL) through the
generated connectrpc client, over each protocol the server speaks."""

from __future__ import annotations

import asyncio

import pytest
from connectrpc.compat import google_protobuf_json_codec
from connectrpc.protocol import ProtocolType
from pyqwest import (
    Client,
    HTTPTransport,
    HTTPVersion,
    SyncClient,
    SyncHTTPTransport,
    SyncRequest,
    SyncResponse,
)

from grpc.health.v1.health_connect import HealthClient, HealthClientSync
from grpc.health.v1.health_pb2 import HealthCheckRequest, HealthCheckResponse

TIMEOUT_MS = 10_000


class RecordingTransport:
    """A pyqwest SyncTransport that remembers the HTTP version of each response."""

    def __init__(self, inner: SyncHTTPTransport) -> None:
        self.inner = inner
        self.versions: list[HTTPVersion] = []

    def execute_sync(self, request: SyncRequest) -> SyncResponse:
        response = self.inner.execute_sync(request)
        self.versions.append(response.http_version)
        return response


@pytest.mark.parametrize(
    ("protocol", "http_version", "json"),
    [
        pytest.param(ProtocolType.CONNECT, HTTPVersion.HTTP1, False, id="connect-proto/http1.1"),
        pytest.param(ProtocolType.CONNECT, HTTPVersion.HTTP1, True, id="connect-json/http1.1"),
        # HTTP/2 on a plaintext URL is prior knowledge (h2c), which gRPC needs without TLS.
        pytest.param(ProtocolType.GRPC, HTTPVersion.HTTP2, False, id="grpc/h2c"),
        pytest.param(ProtocolType.GRPC_WEB, HTTPVersion.HTTP1, False, id="grpc-web/http1.1"),
    ],
)
def test_check_sync(
    switchboard_url: str, protocol: ProtocolType, http_version: HTTPVersion, json: bool
) -> None:
    transport = RecordingTransport(SyncHTTPTransport(http_version=http_version))
    kwargs = {"codec": google_protobuf_json_codec()} if json else {}
    with HealthClientSync(
        switchboard_url,
        protocol=protocol,
        http_client=SyncClient(transport),
        timeout_ms=TIMEOUT_MS,
        **kwargs,
    ) as client:
        response = client.check(HealthCheckRequest())
    assert response.status == HealthCheckResponse.SERVING
    assert transport.versions == [http_version]


def test_check_async(switchboard_url: str) -> None:
    async def check() -> HealthCheckResponse:
        async with HealthClient(
            switchboard_url,
            http_client=Client(HTTPTransport(http_version=HTTPVersion.HTTP1)),
            timeout_ms=TIMEOUT_MS,
        ) as client:
            return await client.check(HealthCheckRequest())

    assert asyncio.run(check()).status == HealthCheckResponse.SERVING
