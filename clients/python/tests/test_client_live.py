"""SwitchboardClient against a running gateway (SWITCHBOARD_URL, SWITCHBOARD_KEY: an admin key),
on its sandbox routes. Mirrors clients/go/live_test.go."""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import pytest
from connectrpc.code import Code
from connectrpc.errors import ConnectError
from google.protobuf.struct_pb2 import Struct

from switchboard.v1.capability_service_pb2 import (
    ChatRequest,
    ChatStreamRequest,
    ExtractRequest,
    SummarizeRequest,
    SummaryStyle,
)
from switchboard.v1.chat_pb2 import ContentPart, Message, Role
from switchboard.v1.common_pb2 import AttemptOutcome, RequestOptions
from switchboard.v1.key_service_pb2 import KeyState, ListKeysRequest
from switchboard.v1.route_service_pb2 import (
    CreateRouteRequest,
    DeleteRouteRequest,
    Route,
    RouteTarget,
)
from switchboard_client import AsyncSwitchboardClient, SwitchboardClient, SwitchboardError

TERMINAL = {"completed", "truncated", "upstream_error", "budget_exhausted"}
CLIENT_DIR = Path(__file__).resolve().parents[1]


def user(text: str) -> Message:
    return Message(role=Role.ROLE_USER, content=[ContentPart(text=text)])


@pytest.fixture(params=["connect", "grpc"])
def client(request: pytest.FixtureRequest, switchboard_url: str, switchboard_key: str):  # noqa: ANN201
    with SwitchboardClient(switchboard_url, switchboard_key, protocol=request.param, timeout=30) as c:
        yield c


@pytest.fixture
def connect_client(switchboard_url: str, switchboard_key: str):  # noqa: ANN201
    with SwitchboardClient(switchboard_url, switchboard_key, timeout=30) as c:
        yield c


def test_summarize(client: SwitchboardClient) -> None:
    res = client.summarize(
        SummarizeRequest(
            text="Switchboard routes model calls, enforces budgets, caches answers and retries failed providers.",
            style=SummaryStyle.SUMMARY_STYLE_BULLETS,
            bullet_count=2,
        )
    )
    assert res.summary
    assert res.bullets
    assert res.usage.request_id
    assert res.usage.provider
    assert res.usage.output_tokens > 0


def test_extract(connect_client: SwitchboardClient) -> None:
    schema = Struct()
    schema.update(
        {
            "type": "object",
            "properties": {"invoice": {"type": "integer"}, "total": {"type": "number"}},
            "required": ["invoice", "total"],
        }
    )
    res = connect_client.extract(ExtractRequest(text="Invoice 42, total 99.50", json_schema=schema))
    assert isinstance(res.data["invoice"], float)
    assert isinstance(res.data["total"], float)
    assert "invoice" in res.json


def test_chat_stream(client: SwitchboardClient) -> None:
    kinds: list[str] = []
    text = ""
    completed = None
    for event in client.chat_stream(ChatStreamRequest(messages=[user("Say hello in a few words.")])):
        kind = event.WhichOneof("event")
        assert not (set(kinds) & TERMINAL), f"event {kind} after the terminal event"
        kinds.append(kind)
        if kind == "delta":
            text += event.delta.text
        elif kind == "completed":
            completed = event.completed
    assert kinds[0] == "started"
    assert kinds.count("started") == 1
    assert [k for k in kinds if k in TERMINAL] == ["completed"]
    assert kinds[-1] == "completed"
    assert text
    assert completed is not None and completed.usage.output_tokens > 0


def test_list_keys(connect_client: SwitchboardClient) -> None:
    res = connect_client.keys.list_keys(ListKeysRequest(parent="orgs/system/teams/-"))
    keys = {k.name: k for k in res.keys}
    bootstrap = keys.get("orgs/system/teams/admins/keys/bootstrap")
    assert bootstrap is not None, f"the bootstrap key is not listed: {list(keys)}"
    assert bootstrap.state == KeyState.KEY_STATE_ACTIVE


def test_chat_unavailable_carries_provider_attempts(switchboard_url: str, switchboard_key: str) -> None:
    # The target is sandbox-smart so that the circuit breaker of sandbox-fast, which the seeded
    # routes share, never sees these failures.
    route_id = f"py-failing-{secrets.token_hex(4)}"
    with SwitchboardClient(switchboard_url, switchboard_key, timeout=30, retries=1) as client:
        client.routes.create_route(
            CreateRouteRequest(
                route_id=route_id,
                route=Route(
                    description="Python client test: a sandbox target told to fail",
                    targets=[RouteTarget(provider="sandbox", model="sandbox-smart")],
                ),
            )
        )
        try:
            request = ChatRequest(
                options=RequestOptions(route=route_id), messages=[user("hello [[sandbox:500]]")]
            )
            # A new route reaches the gateway's resolver within its poll interval (1 s).
            deadline = time.monotonic() + 10
            while True:
                with pytest.raises(SwitchboardError) as raised:
                    client.chat(request)
                if raised.value.code != Code.NOT_FOUND or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
        finally:
            client.routes.delete_route(DeleteRouteRequest(name=f"routes/{route_id}"))
    err = raised.value
    assert isinstance(err, ConnectError)
    assert err.code == Code.UNAVAILABLE, err
    assert err.provider_attempts is not None, err
    assert err.provider_attempts.route == route_id
    assert err.provider_attempts.attempts
    for attempt in err.provider_attempts.attempts:
        assert attempt.provider == "sandbox"
        assert attempt.outcome != AttemptOutcome.ATTEMPT_OUTCOME_SUCCESS


def test_unknown_route_is_not_found(connect_client: SwitchboardClient) -> None:
    with pytest.raises(SwitchboardError) as raised:
        connect_client.chat(
            ChatRequest(
                options=RequestOptions(route=f"no-such-route-{secrets.token_hex(4)}"),
                messages=[user("hello")],
            )
        )
    assert raised.value.code == Code.NOT_FOUND


def test_invalid_request_carries_violations(connect_client: SwitchboardClient) -> None:
    with pytest.raises(SwitchboardError) as raised:
        connect_client.summarize(SummarizeRequest(text=""))
    assert raised.value.code == Code.INVALID_ARGUMENT
    assert raised.value.violations is not None
    assert raised.value.violations.violations[0].rule_id == "string.min_bytes"


def test_wrong_key_is_unauthenticated(switchboard_url: str, switchboard_key: str) -> None:
    with SwitchboardClient(switchboard_url, "sb_live_not-a-key") as client:
        with pytest.raises(SwitchboardError) as raised:
            client.keys.list_keys(ListKeysRequest(parent="orgs/system/teams/-"))
    assert raised.value.code == Code.UNAUTHENTICATED


def test_async_client(switchboard_url: str, switchboard_key: str) -> None:
    async def run() -> tuple[str, list[str], Code]:
        async with AsyncSwitchboardClient(switchboard_url, switchboard_key, timeout=30) as client:
            res = await client.summarize(SummarizeRequest(text="Switchboard routes model calls."))
            kinds = [e.WhichOneof("event") async for e in client.chat_stream(ChatStreamRequest(messages=[user("hi")]))]
            try:
                await client.chat(ChatRequest(options=RequestOptions(route="no-such-route"), messages=[user("hi")]))
            except SwitchboardError as e:
                return res.summary, kinds, e.code
            raise AssertionError("chat on an unknown route succeeded")

    summary, kinds, code = asyncio.run(run())
    assert summary
    assert kinds[0] == "started" and kinds[-1] == "completed"
    assert code == Code.NOT_FOUND


def test_example_summarize(switchboard_url: str, switchboard_key: str) -> None:
    env = {
        **os.environ,
        "SWITCHBOARD_URL": switchboard_url,
        "SWITCHBOARD_KEY": switchboard_key,
        "PYTHONPATH": os.pathsep.join([str(CLIENT_DIR.parents[1] / "gen" / "python"), str(CLIENT_DIR / "src")]),
    }
    done = subprocess.run(
        [sys.executable, str(CLIENT_DIR / "examples" / "summarize.py")],
        input="Switchboard routes model calls, enforces budgets and caches answers.",
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()
    assert "micro-USD" in done.stderr
