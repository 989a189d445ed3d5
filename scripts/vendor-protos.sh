#!/usr/bin/env bash
# Copies the third-party .proto files Switchboard serves (gRPC health and server reflection)
# out of their npm packages (dev dependencies), so buf can compile and generate them offline.
# The Buf Schema Registry is unreachable here, so nothing is fetched: the files come from
# node_modules. CI re-runs this and fails when the committed copies differ.
set -euo pipefail
cd "$(dirname "$0")/.."
install -D -m 0644 node_modules/grpc-health-check/proto/health/v1/health.proto proto/grpc/health/v1/health.proto
install -D -m 0644 node_modules/@grpc/reflection/build/proto/grpc/reflection/v1/reflection.proto proto/grpc/reflection/v1/reflection.proto
