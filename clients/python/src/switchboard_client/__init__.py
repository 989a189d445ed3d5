"""Python client for Switchboard, an open-source AI gateway.

A thin layer over the connectrpc clients generated from the gateway's schema (the
``switchboard.v1`` packages): ``SwitchboardClient`` (sync) and ``AsyncSwitchboardClient``
(asyncio) send the API key, retry UNAVAILABLE only, pass timeouts to the gateway as deadlines, and
raise ``SwitchboardError`` with the gateway's typed error details decoded.

    from switchboard_client import SwitchboardClient
    from switchboard.v1.capability_service_pb2 import SummarizeRequest

    with SwitchboardClient("http://127.0.0.1:8080", key, timeout=30) as client:
        print(client.summarize(SummarizeRequest(text="...")).summary)
"""

from __future__ import annotations

from ._async_client import AsyncSwitchboardClient
from ._auth import AuthInterceptor, AuthInterceptorSync
from ._client import SwitchboardClient
from ._errors import SwitchboardError, as_switchboard_error
from ._retry import RetryInterceptor, RetryInterceptorSync, RetryPolicy

__all__ = [
    "AsyncSwitchboardClient",
    "AuthInterceptor",
    "AuthInterceptorSync",
    "RetryInterceptor",
    "RetryInterceptorSync",
    "RetryPolicy",
    "SwitchboardClient",
    "SwitchboardError",
    "as_switchboard_error",
]

__version__ = "0.1.0"
