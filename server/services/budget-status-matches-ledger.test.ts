/**
 * Differential: GetBudgetStatus's spent equals the sum, computed here, of the ledger rows of the
 * budget's scope (org, team, key, tag) in its current period `[start, end)` in its time zone;
 * remaining is limit − spent − reserved, never below zero.
 */
import { createContextValues, type HandlerContext } from "@connectrpc/connect";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { Scope } from "../../gen/ts/switchboard/v1/options_pb.js";
import { useMigratedDatabase } from "../../test/support/migrated-database.js";
import { testPrincipal } from "../../test/support/principal.js";
import { kPrincipal } from "../interceptors/context-keys.js";
import { ledgerRecord } from "../limits/ledger-testing.js";
import { periodOf } from "../limits/periods.js";
import type { KeyStore } from "../store/key-store.js";
import { createLimitStore, type LimitStore } from "../store/limit-store.js";
import type { TenantStore } from "../store/tenant-store.js";
import { createUsageStore, type UsageRecordRow, type UsageStore } from "../store/usage-store.js";
import { createBudgetService } from "./budget-service.js";

let usage: UsageStore;
let limits: LimitStore;
const database = useMigratedDatabase();
beforeAll(async () => {
  usage = createUsageStore(database().db);
  limits = createLimitStore(database().db);
});

const admin = testPrincipal({ orgId: "org_x", teamId: "team_x", keyId: "key_x", scopes: new Set([Scope.PLATFORM_ADMIN]) });
const ctx = { values: createContextValues().set(kPrincipal, admin) } as unknown as HandlerContext;

describe("GetBudgetStatus against the ledger", () => {
  it("reports each level's spend in its period exactly, remaining never negative (property)", async () => {
    let run = 0;
    const now = new Date("2027-03-31T22:30:00Z"); // 00:30 on 1 April in Paris (CEST): a day, week and month edge nearby
    const levels = ["org", "team", "key", "tag"] as const;
    const periods = ["daily", "weekly", "monthly", "total"] as const;
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            team: fc.constantFrom("t1", "t2"),
            key: fc.constantFrom("k1", "k2"),
            tag: fc.constantFrom("x", "y", undefined),
            offsetMin: fc.integer({ min: -40 * 24 * 60, max: 60 }),
            cost: fc.bigInt({ min: 0n, max: 10n ** 9n }),
          }),
          { maxLength: 25 },
        ),
        fc.constantFrom(...levels),
        fc.constantFrom(...periods),
        fc.constantFrom("UTC", "Europe/Paris", "America/New_York"),
        fc.bigInt({ min: 1n, max: 10n ** 10n }),
        fc.bigInt({ min: 0n, max: 10n ** 9n }),
        async (spec, level, period, timeZone, limitMicros, reserved) => {
          const r = run++;
          const orgName = `o${r}`;
          const orgId = `org_${r}`;
          await database().db.insertInto("orgs").values({ id: orgId, name: orgName }).execute();
          const rows: UsageRecordRow[] = spec.map((s, i) =>
            ledgerRecord({ callId: `b${r}-${i}`, orgId, teamId: `${orgId}-${s.team}`, keyId: `${orgId}-${s.key}`, tags: s.tag === undefined ? {} : { f: s.tag }, costMicros: s.cost, occurredAt: new Date(now.getTime() + s.offsetMin * 60_000) }),
          );
          // Another org's spend, in the same period, must never count.
          rows.push(ledgerRecord({ callId: `b${r}-other`, orgId: `${orgId}-other`, teamId: `${orgId}-t1`, keyId: `${orgId}-k1`, tags: { f: "x" }, costMicros: 999n, occurredAt: now }));
          await usage.insertBatch(rows);
          const targetId = level === "org" ? orgId : level === "team" ? `${orgId}-t1` : level === "key" ? `${orgId}-k1` : "f=x";
          const target = level === "org" ? `orgs/${orgName}` : level === "tag" ? `tags/f=x` : `orgs/${orgName}/whatever`;
          await limits.budgets.create(orgId, "b", { target, level, targetId, limitMicros, period, timeZone, alertThresholdsPercent: [], alertWebhookUrl: "" });
          const service = createBudgetService({
            limits,
            usage,
            tenants: { getOrg: async (name: string) => (name === orgName ? { id: orgId, name } : undefined) } as unknown as TenantStore,
            keys: {} as KeyStore,
            reservations: { snapshot: async () => ({ reservedMicros: reserved }) as never },
            catalog: { refresh: async () => undefined },
            clock: { now: () => now.getTime() },
          });
          const status = await service.getBudgetStatus({ name: `orgs/${orgName}/budgets/b` } as never, ctx);
          const p = periodOf(period, timeZone, now);
          const inScope = (row: UsageRecordRow) =>
            row.orgId === orgId &&
            (level === "org" || (level === "team" && row.teamId === targetId) || (level === "key" && row.keyId === targetId) || (level === "tag" && row.tags.f === "x"));
          const spent = rows.filter((row) => inScope(row) && row.occurredAt >= p.start && (p.end === undefined || row.occurredAt < p.end)).reduce((a, row) => a + row.costMicros, 0n);
          const left = limitMicros - spent - reserved;
          expect({ spent: status.spentMicrosUsd, reserved: status.reservedMicrosUsd, remaining: status.remainingMicrosUsd, start: Number(status.periodStartTime!.seconds) * 1000 }).toEqual({
            spent,
            reserved,
            remaining: left > 0n ? left : 0n,
            start: p.start.getTime(),
          });
        },
      ),
      { numRuns: 40 },
    );
  });
});
