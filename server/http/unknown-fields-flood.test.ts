import { describe, expect, it } from "vitest";
import { Health } from "../../gen/ts/grpc/health/v1/health_pb.js";
import { createMethodTable } from "./method-table.js";

/*
 * A binary request of nothing but unknown fields (P23: a body's cost is bounded; "can't exceed 1 s
 * CPU or 64 MiB per request"). protobuf-es keeps every unknown field by default — an object and a
 * Uint8Array view per field — so 4 MiB of 2-byte fields became ≈ 325 MB of heap and 2–3 s of CPU
 * on one unauthenticated call (any method: the body is parsed before the interceptors); at the
 * default `maxRequestBytes` (32 MiB) ≈ 2.6 GB, near V8's heap limit on its own.
 */

describe("a request flooded with unknown fields", () => {
  it("is parsed without keeping them, within P23's per-request memory", () => {
    const methods = createMethodTable(4 * 1024 * 1024);
    methods.record({ service: () => undefined, rpc: () => undefined, handlers: [] } as never).service(Health, { check: () => ({}) });
    const procedure = methods.lookup("/grpc.health.v1.Health/Check")!;
    const flood = Buffer.alloc(4 * 1024 * 1024);
    for (let i = 0; i < flood.length; i += 2) flood[i] = 15 << 3; // field 15 (unknown), varint 0
    const before = process.memoryUsage().heapUsed;
    const message = procedure.serialization.getI(true).parse(flood);
    const grownBytes = process.memoryUsage().heapUsed - before;
    expect((message as { $unknown?: unknown[] }).$unknown?.length ?? 0).toBe(0);
    expect(grownBytes).toBeLessThan(64 * 1024 * 1024);
  });
});
