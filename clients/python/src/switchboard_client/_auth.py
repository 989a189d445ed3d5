"""The interceptor that sends the API key."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from connectrpc.request import RequestContext


class AuthInterceptorSync:
    """Sends ``authorization: Bearer <api_key>`` on every call (a connectrpc metadata
    interceptor). SwitchboardClient installs one; pass it to a generated ``*ClientSync`` to
    authenticate it without the rest of this package."""

    def __init__(self, api_key: str) -> None:
        self._value = f"Bearer {api_key}"

    def on_start_sync(self, ctx: RequestContext, /) -> None:
        ctx.request_headers["authorization"] = self._value

    def on_end_sync(self, token: None, ctx: RequestContext, error: Exception | None, /) -> None:
        return


class AuthInterceptor:
    """The asyncio twin of AuthInterceptorSync, for the generated async clients."""

    def __init__(self, api_key: str) -> None:
        self._value = f"Bearer {api_key}"

    async def on_start(self, ctx: RequestContext, /) -> None:
        ctx.request_headers["authorization"] = self._value

    async def on_end(self, token: None, ctx: RequestContext, error: Exception | None, /) -> None:
        return
