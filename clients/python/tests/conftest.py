from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

GEN_PYTHON = Path(__file__).resolve().parents[3] / "gen" / "python"


def pytest_configure(config: pytest.Config) -> None:
    if not (GEN_PYTHON / "grpc" / "health" / "v1" / "health_pb2.py").is_file():
        raise pytest.UsageError(
            f"{GEN_PYTHON} has no generated code: run scripts/generate.sh first"
        )


@pytest.fixture(scope="session")
def switchboard_url() -> str:
    """Base URL of a running Switchboard server, from SWITCHBOARD_URL."""
    url = os.environ.get("SWITCHBOARD_URL", "").rstrip("/")
    if not url:
        pytest.fail("SWITCHBOARD_URL is not set: run these tests through scripts/test-clients.sh (npm test), which starts a gateway")
    return url


@pytest.fixture(scope="session")
def switchboard_key(switchboard_url: str) -> str:
    """An admin key of that server (SWITCHBOARD_KEY); missing is a failure, not a skip."""
    key = os.environ.get("SWITCHBOARD_KEY", "")
    if not key:
        pytest.fail(
            "SWITCHBOARD_URL is set but SWITCHBOARD_KEY is not: set it to an admin key of that gateway"
        )
    return key


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        return


@pytest.fixture
def serve_wsgi() -> Iterator[Callable[[object], str]]:
    """Serves a WSGI application (a generated ``*WSGIApplication``) on a free loopback port in a
    thread, for the duration of one test; returns its base URL."""
    servers: list[WSGIServer] = []

    def serve(app: object) -> str:
        server = make_server("127.0.0.1", 0, app, handler_class=_QuietHandler)  # type: ignore[arg-type]
        threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}"

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()
