"""AsyncSwitchboardClient: the asyncio client."""

from __future__ import annotations

from typing import TYPE_CHECKING, Self

from pyqwest import Client, HTTPTransport

from switchboard.v1.audit_service_connect import AuditServiceClient
from switchboard.v1.budget_service_connect import BudgetServiceClient
from switchboard.v1.cache_service_connect import CacheServiceClient
from switchboard.v1.capability_service_connect import CapabilityServiceClient
from switchboard.v1.credential_service_connect import CredentialServiceClient
from switchboard.v1.guardrail_service_connect import GuardrailServiceClient
from switchboard.v1.key_service_connect import KeyServiceClient
from switchboard.v1.prompt_service_connect import PromptServiceClient
from switchboard.v1.route_service_connect import RouteServiceClient
from switchboard.v1.tenant_service_connect import TenantServiceClient
from switchboard.v1.usage_service_connect import UsageServiceClient

from ._auth import AuthInterceptor
from ._protocol import ProtocolName, http_version_for, resolve_protocol, timeout_ms
from ._retry import RetryInterceptor, RetryPolicy

if TYPE_CHECKING:
    from collections.abc import Iterable
    from types import TracebackType

    from connectrpc.interceptor import Interceptor
    from connectrpc.protocol import ProtocolType


class AsyncSwitchboardClient:
    """The asyncio twin of SwitchboardClient: the same arguments, attributes and behaviour, with
    coroutine methods (``await client.summarize(...)``), async iterators for streams
    (``async for event in client.chat_stream(...)``) and ``async with``. ``http_client`` is a
    pyqwest ``Client``.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        protocol: ProtocolName | ProtocolType = "connect",
        timeout: float | None = None,
        retries: int = 2,
        retry_policy: RetryPolicy | None = None,
        http_client: Client | None = None,
        interceptors: Iterable[Interceptor] = (),
    ) -> None:
        base_url = base_url.rstrip("/")
        protocol_type = resolve_protocol(protocol)
        self._transport: HTTPTransport | None = None
        if http_client is None:
            self._transport = HTTPTransport(
                http_version=http_version_for(protocol_type), tls_include_system_certs=True
            )
            http_client = Client(self._transport)
        policy = retry_policy if retry_policy is not None else RetryPolicy(retries=max(0, retries))
        options = {
            "protocol": protocol_type,
            "timeout_ms": timeout_ms(timeout),
            "http_client": http_client,
            "interceptors": [RetryInterceptor(policy), AuthInterceptor(api_key), *interceptors],
        }
        self.capability = CapabilityServiceClient(base_url, **options)
        self.tenants = TenantServiceClient(base_url, **options)
        self.keys = KeyServiceClient(base_url, **options)
        self.credentials = CredentialServiceClient(base_url, **options)
        self.routes = RouteServiceClient(base_url, **options)
        self.budgets = BudgetServiceClient(base_url, **options)
        self.prompts = PromptServiceClient(base_url, **options)
        self.usage = UsageServiceClient(base_url, **options)
        self.audit = AuditServiceClient(base_url, **options)
        self.cache = CacheServiceClient(base_url, **options)
        self.guardrails = GuardrailServiceClient(base_url, **options)

        self.summarize = self.capability.summarize
        self.classify = self.capability.classify
        self.extract = self.capability.extract
        self.answer = self.capability.answer
        self.chat = self.capability.chat
        self.chat_stream = self.capability.chat_stream
        self.embed = self.capability.embed

    async def close(self) -> None:
        """Releases the HTTP connections (when the client made its own HTTP client)."""
        if self._transport is not None:
            transport, self._transport = self._transport, None
            await transport.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        _exc_type: type[BaseException] | None,
        _exc_value: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        await self.close()
