from __future__ import annotations

import os
from pathlib import Path

import pytest

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
        pytest.skip("SWITCHBOARD_URL is not set (e.g. http://127.0.0.1:8080)")
    return url
