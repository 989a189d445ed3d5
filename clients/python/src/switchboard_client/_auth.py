"""The interceptor that sends the API key."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from connectrpc.request import RequestContext

# What an HTTP header value cannot carry (RFC 9110: no CR, LF, NUL or other control characters).
_INVALID = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def _header_value(api_key: str) -> str:
    """``Bearer <api_key>``. The whitespace around the key is not part of it (a key read from a file
    with its newline; HTTP trims a header value too, and the TS client sends it trimmed). A control
    character inside it is refused here, so that the HTTP layer's error, which quotes the whole
    header value, never carries the key."""
    api_key = api_key.strip(" \t\r\n")
    if _INVALID.search(api_key):
        raise ValueError("api_key contains a control character, which an HTTP header cannot carry")
    return f"Bearer {api_key}"


class AuthInterceptorSync:
    """Sends ``authorization: Bearer <api_key>`` on every call (a connectrpc metadata
    interceptor). SwitchboardClient installs one; pass it to a generated ``*ClientSync`` to
    authenticate it without the rest of this package."""

    def __init__(self, api_key: str) -> None:
        self._value = _header_value(api_key)

    def on_start_sync(self, ctx: RequestContext, /) -> None:
        ctx.request_headers["authorization"] = self._value

    def on_end_sync(self, token: None, ctx: RequestContext, error: Exception | None, /) -> None:
        return


class AuthInterceptor:
    """The asyncio twin of AuthInterceptorSync, for the generated async clients."""

    def __init__(self, api_key: str) -> None:
        self._value = _header_value(api_key)

    async def on_start(self, ctx: RequestContext, /) -> None:
        ctx.request_headers["authorization"] = self._value

    async def on_end(self, token: None, ctx: RequestContext, error: Exception | None, /) -> None:
        return
