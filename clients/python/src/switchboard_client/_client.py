"""SwitchboardClient: the synchronous client."""

from __future__ import annotations

from typing import TYPE_CHECKING, Self

from pyqwest import SyncClient, SyncHTTPTransport

from switchboard.v1.audit_service_connect import AuditServiceClientSync
from switchboard.v1.budget_service_connect import BudgetServiceClientSync
from switchboard.v1.cache_service_connect import CacheServiceClientSync
from switchboard.v1.capability_service_connect import CapabilityServiceClientSync
from switchboard.v1.credential_service_connect import CredentialServiceClientSync
from switchboard.v1.guardrail_service_connect import GuardrailServiceClientSync
from switchboard.v1.key_service_connect import KeyServiceClientSync
from switchboard.v1.prompt_service_connect import PromptServiceClientSync
from switchboard.v1.route_service_connect import RouteServiceClientSync
from switchboard.v1.tenant_service_connect import TenantServiceClientSync
from switchboard.v1.usage_service_connect import UsageServiceClientSync

from ._auth import AuthInterceptorSync
from ._protocol import ProtocolName, http_version_for, resolve_protocol, timeout_ms
from ._retry import RetryInterceptorSync, RetryPolicy

if TYPE_CHECKING:
    from collections.abc import Iterable
    from types import TracebackType

    from connectrpc.interceptor import InterceptorSync
    from connectrpc.protocol import ProtocolType


class SwitchboardClient:
    """A synchronous client for a Switchboard gateway.

    The verbs are methods (``summarize``, ``classify``, ``extract``, ``answer``, ``chat``,
    ``chat_stream``, ``embed``); each admin service is an attribute holding its generated
    connectrpc client (``keys``, ``routes``, ``tenants``, ...). Requests and responses are the
    generated ``switchboard.v1`` messages, and every method takes the generated keyword arguments
    ``headers=`` and ``timeout_ms=`` (a per-call timeout replacing the client's).

    Every call sends the key, retries UNAVAILABLE (only) as ``RetryPolicy`` says, and raises
    ``SwitchboardError`` on failure.

    Args:
        base_url: The gateway, for example ``"http://127.0.0.1:8080"``.
        api_key: A virtual key (``"sb_live_…"``).
        protocol: ``"connect"`` (default), ``"grpc"`` (HTTP/2; prior knowledge over http://)
            or ``"grpc-web"``, or a ``connectrpc.protocol.ProtocolType``.
        timeout: Seconds for each call, retries and backoff included, sent to the gateway as the
            call's deadline; None for no client-side timeout (the gateway applies its own).
        retries: Retries of a call that failed with UNAVAILABLE (default 2). A stream is retried
            only while it has delivered nothing.
        retry_policy: The full policy (backoff, server delay cap); replaces ``retries``.
        http_client: A pyqwest SyncClient to use (its HTTP version must suit the protocol); the
            caller closes it. By default the client makes one and closes it in ``close()``.
        interceptors: More connectrpc interceptors, run inside the client's own.
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
        http_client: SyncClient | None = None,
        interceptors: Iterable[InterceptorSync] = (),
    ) -> None:
        base_url = base_url.rstrip("/")
        protocol_type = resolve_protocol(protocol)
        self._transport: SyncHTTPTransport | None = None
        if http_client is None:
            self._transport = SyncHTTPTransport(
                http_version=http_version_for(protocol_type), tls_include_system_certs=True
            )
            http_client = SyncClient(self._transport)
        policy = retry_policy if retry_policy is not None else RetryPolicy(retries=max(0, retries))
        options = {
            "protocol": protocol_type,
            "timeout_ms": timeout_ms(timeout),
            "http_client": http_client,
            "interceptors": [RetryInterceptorSync(policy), AuthInterceptorSync(api_key), *interceptors],
        }
        self.capability = CapabilityServiceClientSync(base_url, **options)
        """CapabilityService: the verbs (also available as this client's own methods)."""
        self.tenants = TenantServiceClientSync(base_url, **options)
        """TenantService: orgs and teams."""
        self.keys = KeyServiceClientSync(base_url, **options)
        """KeyService: virtual keys."""
        self.credentials = CredentialServiceClientSync(base_url, **options)
        """CredentialService: write-only provider credentials."""
        self.routes = RouteServiceClientSync(base_url, **options)
        """RouteService: route aliases and their targets."""
        self.budgets = BudgetServiceClientSync(base_url, **options)
        """BudgetService: spend caps and rate limits."""
        self.prompts = PromptServiceClientSync(base_url, **options)
        """PromptService: prompt templates and versions."""
        self.usage = UsageServiceClientSync(base_url, **options)
        """UsageService: usage and cost reports."""
        self.audit = AuditServiceClientSync(base_url, **options)
        """AuditService: the audit log."""
        self.cache = CacheServiceClientSync(base_url, **options)
        """CacheService: response cache stats and purge."""
        self.guardrails = GuardrailServiceClientSync(base_url, **options)
        """GuardrailService: guardrail policies."""

        self.summarize = self.capability.summarize
        self.classify = self.capability.classify
        self.extract = self.capability.extract
        self.answer = self.capability.answer
        self.chat = self.capability.chat
        self.chat_stream = self.capability.chat_stream
        self.embed = self.capability.embed

    def close(self) -> None:
        """Releases the HTTP connections (when the client made its own HTTP client)."""
        if self._transport is not None:
            self._transport.close()
            self._transport = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        _exc_type: type[BaseException] | None,
        _exc_value: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        self.close()
