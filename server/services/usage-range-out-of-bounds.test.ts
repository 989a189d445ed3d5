/**
 * A report's range is checked before it reaches Postgres: `start_time` / `end_time` are Timestamps,
 * and a binary (gRPC / Connect-proto) request may carry seconds outside what a JS Date or a
 * Postgres timestamptz holds (JSON refuses them at parse time; the binary format does not).
 * Such a range is bad input — `InvalidArgument` — never `Internal` (bad-input promise: a success
 * or a chosen 4xx, never internal).
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TestGateway } from "../../test/support/gateway.js";
import { startPostgresGateway } from "../../test/support/postgres-gateway.js";
import { clientsFor } from "../../test/support/clients.js";
import { moneyClients, type MoneyClients } from "../../test/support/money.js";

let gw: TestGateway;
let admin: MoneyClients;

beforeAll(async () => {
  gw = await startPostgresGateway();
  admin = moneyClients(gw.url, gw.adminKey);
});
afterAll(async () => {
  await gw?.close();
});

const code = (p: Promise<unknown>) => p.then(() => "ok", (e: unknown) => Code[ConnectError.from(e).code]);
const ts = (seconds: bigint) => ({ seconds, nanos: 0 });

describe("usage report ranges outside any date", () => {
  // 2^50 s is past JS Date's range (±8.64e15 ms): new Date() of it is Invalid Date.
  // -3e11 s is year ≈ -7500, inside JS Date's range but before Postgres's 4713 BC.
  const cases = [
    { name: "end past JS Date's range", start: 0n, end: 1n << 50n },
    { name: "start before Postgres's first timestamp", start: -300_000_000_000n, end: 0n },
  ];
  for (const c of cases) {
    it(`QueryUsage, ListUsageRecords and ExportUsage answer InvalidArgument, not Internal: ${c.name}`, async () => {
      const range = { parent: "orgs/system", startTime: ts(c.start), endTime: ts(c.end) };
      const exported = async () => {
        for await (const _ of admin.usage.exportUsage({ query: range })) void _;
      };
      expect({
        query: await code(admin.usage.queryUsage(range)),
        list: await code(admin.usage.listUsageRecords(range)),
        export: await code(exported()),
      }).toEqual({ query: "InvalidArgument", list: "InvalidArgument", export: "InvalidArgument" });
    });
  }
});

describe("other Timestamps outside any date", () => {
  it("ListAuditEvents' range and CreateKey's expire_time answer InvalidArgument, not Internal", async () => {
    const platform = clientsFor(gw.url, gw.adminKey);
    expect({
      auditEnd: await code(platform.audit.listAuditEvents({ endTime: ts(1n << 50n) })),
      auditStart: await code(platform.audit.listAuditEvents({ startTime: ts(-300_000_000_000n) })),
      keyExpiry: await code(platform.keys.createKey({ parent: "orgs/system/teams/admins", keyId: "far-future", key: { scopes: [], expireTime: ts(1n << 50n) } })),
    }).toEqual({ auditEnd: "InvalidArgument", auditStart: "InvalidArgument", keyExpiry: "InvalidArgument" });
  });
});
