import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { createContextValues, type HandlerContext } from "@connectrpc/connect";
import { beforeAll, describe, expect, it } from "vitest";
import { Scope } from "../../gen/ts/switchboard/v1/options_pb.js";
import { ExportUsageRequestSchema, QueryUsageRequestSchema, UsageDimension } from "../../gen/ts/switchboard/v1/usage_service_pb.js";
import { useMigratedDatabase } from "../../test/support/migrated-database.js";
import { parseCsv } from "../../test/support/money.js";
import { kPrincipal } from "../interceptors/context-keys.js";
import { ledgerRecord } from "../limits/ledger-testing.js";
import type { KeyStore } from "../store/key-store.js";
import type { TenantStore } from "../store/tenant-store.js";
import { createUsageStore, type UsageStore } from "../store/usage-store.js";
import { createUsageService } from "./usage-service.js";
import { testPrincipal } from "../../test/support/principal.js";

let usage: UsageStore;

const database = useMigratedDatabase();

beforeAll(async () => {
  usage = createUsageStore(database().db);
});

const admin = testPrincipal({ orgId: "org_a", teamId: "team_a", keyId: "key_a", scopes: new Set([Scope.PLATFORM_ADMIN]) });
const ctx = { values: createContextValues().set(kPrincipal, admin) } as unknown as HandlerContext;
const at = new Date("2026-11-10T12:00:00Z");
const range = { startTime: timestampFromDate(new Date("2026-11-01T00:00:00Z")), endTime: timestampFromDate(new Date("2026-12-01T00:00:00Z")) };

async function exportCsv(store: UsageStore, groupByTag: string): Promise<string[][]> {
  const service = createUsageService({ usage: store, tenants: {} as TenantStore, keys: {} as KeyStore });
  const req = create(ExportUsageRequestSchema, { query: { parent: "", ...range, groupBy: [UsageDimension.TAG], groupByTag } });
  let text = "";
  for await (const chunk of service.exportUsage(req, ctx) as AsyncIterable<{ csvChunk: Uint8Array }>) text += new TextDecoder().decode(chunk.csvChunk);
  return parseCsv(text);
}

describe("usage reports", () => {
  // Totals and the CSV of values past 2^53 are exact (bigint end to end).
  it("sums costs past 2^53 exactly in QueryUsage and in the CSV", async () => {
    const big = 2n ** 60n + 7n;
    await usage.insertBatch([0, 1, 2].map((i) => ledgerRecord({ callId: `big-${i}`, requestId: `big-${i}`, costMicros: big, tags: { grp: "big" }, occurredAt: at })));
    await usage.insertBatch([ledgerRecord({ callId: "zero", requestId: "zero", costMicros: 0n, tags: { grp: "big" }, occurredAt: at })]);
    const csv = await exportCsv(usage, "grp");
    expect(csv.find((r) => r[0] === "big")?.[7]).toBe(String(3n * big));
  });

  // Reports count `[start, end)`. A Timestamp with sub-millisecond nanos rounded to the nearest
  // millisecond (protobuf-es `timestampDate`) would count a row stored at 12:00:00.000 for
  // start_time 12:00:00.000400 (it is before the start) and not for end_time 12:00:00.000400.
  it("keeps [start, end) for start and end times with sub-millisecond nanos", async () => {
    const t = new Date("2026-11-20T12:00:00.000Z");
    await usage.insertBatch([ledgerRecord({ callId: "edge", requestId: "edge", costMicros: 5n, occurredAt: t })]);
    const service = createUsageService({ usage, tenants: {} as TenantStore, keys: {} as KeyStore });
    const ts = (ms: number, nanos: number) => ({ ...timestampFromDate(new Date(ms)), nanos });
    const q = async (start: ReturnType<typeof ts>, end: ReturnType<typeof ts>) =>
      (await service.queryUsage(create(QueryUsageRequestSchema, { parent: "", startTime: start, endTime: end }), ctx)).totals?.costMicrosUsd;
    const s = t.getTime();
    expect({ startAfterRow: await q(ts(s, 400_000), ts(s + 60_000, 0)), endAfterRow: await q(ts(s - 60_000, 0), ts(s, 400_000)) }).toEqual({ startAfterRow: 0n, endAfterRow: 5n });
  });
});
