/**
 * A QueryUsage page carries its rows and the totals of the whole range. Both must come from one
 * snapshot of the ledger: read by two statements on their own, a ledger flush committing between
 * them is in the totals and not in the rows (or the other way round), and the one response
 * contradicts itself — its one page holds every group, yet the rows do not add up to the totals.
 *
 * The flush is placed deterministically: the report reads through a pool of one connection with a
 * kysely plugin whose result hook (run while the connection is still held, so the report's next
 * statement cannot start) commits a ledger row through a second, independent connection after the
 * report's first statement, and only then lets the report go on.
 */
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { createContextValues, type HandlerContext } from "@connectrpc/connect";
import type { KyselyPlugin, PluginTransformQueryArgs, PluginTransformResultArgs, QueryResult, RootOperationNode, UnknownRow } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Scope } from "../../gen/ts/switchboard/v1/options_pb.js";
import { QueryUsageRequestSchema, UsageDimension, type QueryUsageResponse } from "../../gen/ts/switchboard/v1/usage_service_pb.js";
import { createTestDatabase, type TestDatabase } from "../../test/support/postgres.js";
import { testPrincipal } from "../../test/support/principal.js";
import { kPrincipal } from "../interceptors/context-keys.js";
import { ledgerRecord } from "../limits/ledger-testing.js";
import { createDatabase, type DatabaseHandle } from "../store/database.js";
import type { KeyStore } from "../store/key-store.js";
import { migrateToLatest } from "../store/migrate.js";
import type { TenantStore } from "../store/tenant-store.js";
import { createUsageStore } from "../store/usage-store.js";
import { createUsageService } from "./usage-service.js";

const admin = testPrincipal({ orgId: "org_a", teamId: "team_a", keyId: "key_a", scopes: new Set([Scope.PLATFORM_ADMIN]) });
const ctx = { values: createContextValues().set(kPrincipal, admin) } as unknown as HandlerContext;
const at = new Date("2026-11-10T12:00:00Z");
const range = { startTime: timestampFromDate(new Date("2026-11-01T00:00:00Z")), endTime: timestampFromDate(new Date("2026-12-01T00:00:00Z")) };

/** Runs `once` after the first statement that returns rows, before the connection is handed back. */
function afterFirstRead(once: () => Promise<void>): KyselyPlugin & { fired: boolean } {
  const plugin = {
    fired: false,
    transformQuery: (args: PluginTransformQueryArgs): RootOperationNode => args.node,
    async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
      if (!plugin.fired && args.result.rows.length > 0) {
        plugin.fired = true;
        await once();
      }
      return args.result;
    },
  };
  return plugin;
}

let pg: TestDatabase;
let reader: DatabaseHandle;
let writer: DatabaseHandle;
beforeAll(async () => {
  pg = await createTestDatabase();
  // One connection: the report's statements run one after another on it, never side by side.
  reader = await createDatabase({ databaseUrl: pg.url, pool: 1 });
  writer = await createDatabase({ databaseUrl: pg.url, pool: 1 });
  await migrateToLatest(writer.db);
});
afterAll(async () => {
  await reader?.close();
  await writer?.close();
  await pg?.drop();
});

describe("QueryUsage reads its rows and its totals in one snapshot", () => {
  it("a ledger flush committing while the page is read is in both the rows and the totals, or in neither", async () => {
    const ledger = createUsageStore(writer.db);
    await ledger.insertBatch(["m1", "m2"].map((model, i) => ledgerRecord({ callId: `before-${i}`, requestId: `before-${i}`, model, costMicros: 100n, occurredAt: at })));
    const flush = afterFirstRead(async () => {
      await ledger.insertBatch([ledgerRecord({ callId: "during", requestId: "during", model: "m3", costMicros: 7n, occurredAt: at })]);
    });
    const usage = createUsageStore(reader.db.withPlugin(flush));
    const service = createUsageService({ usage, tenants: {} as TenantStore, keys: {} as KeyStore });
    const res = (await service.queryUsage(create(QueryUsageRequestSchema, { parent: "", ...range, groupBy: [UsageDimension.MODEL] }), ctx)) as QueryUsageResponse;
    expect(flush.fired).toBe(true);
    // One page with every group: its rows add up to its totals, whichever side of the flush they were read on.
    expect(res.nextPageToken).toBe("");
    const sum = (f: (t: NonNullable<QueryUsageResponse["totals"]>) => bigint) => res.rows.reduce((a, r) => a + f(r.totals!), 0n);
    expect({ cost: sum((t) => t.costMicrosUsd), attempts: sum((t) => t.attempts), requests: sum((t) => t.requests) }).toEqual({
      cost: res.totals!.costMicrosUsd,
      attempts: res.totals!.attempts,
      requests: res.totals!.requests,
    });
    // The flush did commit: the next report counts it.
    const after = (await service.queryUsage(create(QueryUsageRequestSchema, { parent: "", ...range }), ctx)) as QueryUsageResponse;
    expect(after.totals!.costMicrosUsd).toBe(207n);
  });
});
