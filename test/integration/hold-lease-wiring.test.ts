/**
 * The budget-hold timing knobs reach the running gateway: `budgets.holdLeaseTtlMs` and
 * `holdLeaseRefreshMs` are the TTL and cadence of this replica's lease writes, and
 * `holdSweepIntervalMs` the cadence of the sweeper's passes (one `openHolds` per budget tenant
 * per pass). With the defaults (4 s refresh, ~5 s sweeps) neither count below is reachable in the
 * time allowed, so the test fails if the options are dropped on the way to the lease or sweeper.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BudgetPeriod } from "../../gen/ts/switchboard/v1/error_details_pb.js";
import { createMemoryState } from "../../server/store/state/memory-state.js";
import type { StateBackend } from "../../server/store/state/state-backend.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { moneyClients } from "../support/money.js";

const TTL_MS = 1_200;
const leaseWrites: number[] = [];
let sweepPasses = 0;

/** The in-process state, recording lease writes (their TTL) and hold-index reads (sweeps). */
function observedState(): StateBackend {
  const inner = createMemoryState();
  return new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === "set") {
        return (key: string, value: Uint8Array, ttlMs: number) => {
          if (key.startsWith("replica-lease:")) leaseWrites.push(ttlMs);
          return target.set(key, value, ttlMs);
        };
      }
      if (prop === "openHolds") {
        return (index: string) => {
          sweepPasses++;
          return target.openHolds(index);
        };
      }
      const v: unknown = Reflect.get(target, prop, receiver);
      return typeof v === "function" ? (v as (...args: unknown[]) => unknown).bind(target) : v;
    },
  });
}

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway({ state: observedState(), budgetHolds: { lease: { ttlMs: TTL_MS, refreshMs: 100 }, sweep: { intervalMs: 100 } } });
  const admin = moneyClients(gw.url, gw.adminKey);
  await admin.tenants.createOrg({ orgId: "acme", org: {} });
  await admin.budgets.createBudget({ parent: "orgs/acme", budgetId: "org", budget: { target: "orgs/acme", limitMicrosUsd: 1_000_000n, period: BudgetPeriod.MONTHLY } });
  await gw.money.catalog.refresh();
}, 30_000);
afterAll(async () => {
  await gw?.close();
});

async function until(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 25));
  }
  return true;
}

describe("budget-hold timing knobs are wired into the server", () => {
  it("refreshes the lease with the configured TTL and cadence, and sweeps at the configured interval", async () => {
    const since = { writes: leaseWrites.length, sweeps: sweepPasses };
    // 100 ms cadences: 6 of each take about 0.6 s; the defaults would need over 20 s. 3.5 s of slack for a loaded machine.
    expect(await until(() => leaseWrites.length - since.writes >= 6 && sweepPasses - since.sweeps >= 6, 4_000)).toBe(true);
    expect(new Set(leaseWrites)).toEqual(new Set([TTL_MS]));
  });
});
