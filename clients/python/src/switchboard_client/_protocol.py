"""Protocol names and the HTTP version each needs."""

from __future__ import annotations

from typing import Literal

from connectrpc.protocol import ProtocolType
from pyqwest import HTTPVersion

ProtocolName = Literal["connect", "grpc", "grpc-web"]

_PROTOCOLS: dict[str, ProtocolType] = {
    "connect": ProtocolType.CONNECT,
    "grpc": ProtocolType.GRPC,
    "grpc-web": ProtocolType.GRPC_WEB,
}


def resolve_protocol(protocol: ProtocolName | ProtocolType) -> ProtocolType:
    """The connectrpc ProtocolType for a name (or the type itself)."""
    if isinstance(protocol, ProtocolType):
        return protocol
    try:
        return _PROTOCOLS[protocol]
    except KeyError:
        raise ValueError(
            f"protocol must be one of {sorted(_PROTOCOLS)}, not {protocol!r}"
        ) from None


def http_version_for(protocol: ProtocolType) -> HTTPVersion | None:
    """gRPC needs HTTP/2 (prior knowledge over http://, negotiated over https://); the others
    take pyqwest's default (HTTP/1.1 over http://, ALPN over https://)."""
    return HTTPVersion.HTTP2 if protocol == ProtocolType.GRPC else None


def timeout_ms(timeout: float | None) -> int | None:
    """Seconds to connectrpc's milliseconds; None (or 0) means no client-side timeout."""
    if timeout is None or timeout <= 0:
        return None
    return max(1, round(timeout * 1000))
