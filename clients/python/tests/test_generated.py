"""Every generated module imports from gen/python with the pinned runtime (no server needed)."""

from __future__ import annotations

import importlib
import traceback
from pathlib import Path

GEN_PYTHON = Path(__file__).resolve().parents[3] / "gen" / "python"


def test_grpc_package_is_ours() -> None:
    # grpcio's top-level `grpc` package would shadow gen/python/grpc (see buf.gen.python.yaml).
    import grpc

    paths = [Path(p).resolve() for p in getattr(grpc, "__path__", [])]
    assert paths == [GEN_PYTHON / "grpc"], (
        f"`grpc` resolves to {paths or grpc}: is grpcio installed in this environment?"
    )


def test_every_generated_module_imports() -> None:
    modules = sorted(
        ".".join(p.relative_to(GEN_PYTHON).with_suffix("").parts)
        for p in GEN_PYTHON.rglob("*.py")
        if "__pycache__" not in p.parts
    )
    assert modules, f"no generated modules under {GEN_PYTHON}"
    failures = {}
    for module in modules:
        try:
            importlib.import_module(module)
        except Exception:  # noqa: BLE001 - report every broken module at once
            failures[module] = traceback.format_exc(limit=3)
    assert not failures, "\n".join(f"{m}:\n{tb}" for m, tb in failures.items())
