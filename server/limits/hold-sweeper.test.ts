import { afterEach, describe, expect, it } from "vitest";
import { createLogCapture } from "../../test/support/log-capture.js";
import { createMemoryState } from "../store/state/memory-state.js";
import type { StateBackend } from "../store/state/state-backend.js";
import { createBudgetReservations, openHoldsKey, type BudgetRef, type Reservation } from "./budget-reservation.js";
import { createHoldSweeper } from "./hold-sweeper.js";
import { createReplicaLease, replicaLeaseKey } from "./replica-lease.js";

const budget: BudgetRef = { id: "orgs/acme/budgets/total", level: "org", limitMicros: 10_000n, period: "total", tz: "UTC" };
const clock = { now: () => Date.now() };
let state: StateBackend;
afterEach(async () => {
  await state?.close();
});

/** Replicas `self`, `alive` and `dead` over one state; only `self` and `alive` hold a lease. */
async function cluster() {
  state = createMemoryState();
  const log = createLogCapture();
  const leases = { self: createReplicaLease({ state, logger: log.logger }, { id: "self" }), alive: createReplicaLease({ state, logger: log.logger }, { id: "alive" }) };
  await leases.self.start();
  await leases.alive.start();
  const replica = (owner: string) => createBudgetReservations({ state, clock, owner });
  const hold = async (owner: string, amount: bigint, tenant = "org_1"): Promise<Reservation> => {
    const outcome = await replica(owner).reserve({ tenant, budgets: [budget], amountMicros: amount });
    if (!outcome.ok) throw new Error("refused");
    return outcome.reservation;
  };
  const reserved = async (tenant = "org_1") => (await replica("reader").snapshot(tenant, budget)).reservedMicros;
  return { log, leases, replica, hold, reserved };
}

describe("hold sweeper", () => {
  it("releases a dead owner's holds, never a live replica's or its own, and logs the amounts", async () => {
    const c = await cluster();
    await c.hold("self", 100n);
    await c.hold("alive", 200n);
    const orphan = await c.hold("dead", 300n);
    await c.hold("dead", 5n, "org_2");
    const sweeper = createHoldSweeper({ state, lease: c.leases.self, tenants: () => ["org_1", "org_2", "org_3"], logger: c.log.logger });
    expect(await sweeper.sweep()).toEqual({ tenants: 3, released: 2, failed: 0 });
    expect(await c.reserved()).toBe(300n);
    expect(await c.reserved("org_2")).toBe(0n);
    expect((await state.openHolds(openHoldsKey("org_1"))).map((h) => h.owner).sort()).toEqual(["alive", "self"]);
    const warn = c.log.lines().find((l) => l.msg === "released budget holds of replicas whose lease lapsed" && l.tenant === "org_1");
    expect(warn).toMatchObject({ totalMicros: 300, holds: [{ reservation: orphan.id, owner: "dead", heldMicros: 300 }] });
    expect(await sweeper.sweep()).toEqual({ tenants: 3, released: 0, failed: 0 });
  });

  it("lets a swept reservation settle later, booking its actual once", async () => {
    const c = await cluster();
    const stalled = await c.hold("dead", 300n);
    await createHoldSweeper({ state, lease: c.leases.self, tenants: () => ["org_1"], logger: c.log.logger }).sweep();
    await c.replica("dead").settle(stalled, 120n);
    expect(await c.replica("reader").snapshot("org_1", budget)).toMatchObject({ spentMicros: 120n, reservedMicros: 0n });
  });

  it("sweeps a replica whose lease was stopped or lapsed, and not before", async () => {
    let now = 1_000_000;
    state = createMemoryState({ now: () => now });
    const log = createLogCapture();
    const other = createReplicaLease({ state, logger: log.logger }, { ttlMs: 15_000, refreshMs: 60_000 });
    const self = createReplicaLease({ state, logger: log.logger });
    await other.start();
    expect(await self.isAlive(other.id)).toBe(true);
    const outcome = await createBudgetReservations({ state, clock: { now: () => now }, owner: other.id }).reserve({ tenant: "org_1", budgets: [budget], amountMicros: 70n });
    expect(outcome.ok).toBe(true);
    const sweeper = createHoldSweeper({ state, lease: self, tenants: () => ["org_1"], logger: log.logger });
    now += 14_999;
    expect((await sweeper.sweep()).released).toBe(0);
    now += 1; // the lease's TTL has passed without a refresh (a kill -9)
    expect(await self.isAlive(other.id)).toBe(false);
    expect((await sweeper.sweep()).released).toBe(1);
    await other.stop();
    expect(await state.get(replicaLeaseKey(other.id))).toBeUndefined();
  });

  it("leaves alone a hold settled between its read and its release", async () => {
    const c = await cluster();
    const r = await c.hold("dead", 300n);
    const racing: StateBackend = {
      ...state,
      async releaseHolds(index, holds, ttl) {
        await c.replica("dead").settle(r, 250n); // the owner settles just before the release runs
        return state.releaseHolds(index, holds, ttl);
      },
    };
    expect((await createHoldSweeper({ state: racing, lease: c.leases.self, tenants: () => ["org_1"], logger: c.log.logger }).sweep()).released).toBe(0);
    expect(await c.replica("reader").snapshot("org_1", budget)).toMatchObject({ spentMicros: 250n, reservedMicros: 0n });
  });

  it("costs one read per tenant without open holds, and one lease lookup per owner", async () => {
    const c = await cluster();
    for (let i = 0; i < 3; i++) await c.hold("dead", 10n);
    const calls: string[] = [];
    const counted = new Proxy(state, {
      get(target, name, receiver) {
        const value = Reflect.get(target, name, receiver) as unknown;
        return typeof value === "function" ? (...args: unknown[]) => (calls.push(String(name)), (value as (...a: unknown[]) => unknown).apply(target, args)) : value;
      },
    });
    const lease = createReplicaLease({ state: counted, logger: c.log.logger }, { id: "self" });
    await createHoldSweeper({ state: counted, lease, tenants: () => ["org_1", "org_2", "org_3"], logger: c.log.logger }).sweep();
    expect(calls).toEqual(["openHolds", "get", "releaseHolds", "openHolds", "openHolds"]);
  });

  it("never sweeps its own holds, even while its own lease reads as lapsed (a stall)", async () => {
    const c = await cluster();
    await c.hold("self", 100n);
    await c.hold("dead", 30n);
    // This replica stalled past its lease: a lookup of itself would say dead. Its calls still run.
    const stalled = { id: "self", isAlive: async () => false };
    expect(await createHoldSweeper({ state, lease: stalled, tenants: () => ["org_1"], logger: c.log.logger }).sweep()).toEqual({ tenants: 1, released: 1, failed: 0 });
    expect(await c.reserved()).toBe(100n);
    expect((await state.openHolds(openHoldsKey("org_1"))).map((h) => h.owner)).toEqual(["self"]);
  });

  it("looks each owner's lease up once per pass, across tenants", async () => {
    const c = await cluster();
    for (const tenant of ["org_1", "org_2", "org_3"]) {
      await c.hold("dead", 10n, tenant);
      await c.hold("alive", 10n, tenant);
    }
    const asked: string[] = [];
    const lease = { id: "self", isAlive: (id: string) => (asked.push(id), c.leases.self.isAlive(id)) };
    const sweeper = createHoldSweeper({ state, lease, tenants: () => ["org_1", "org_2", "org_3"], logger: c.log.logger });
    expect(await sweeper.sweep()).toEqual({ tenants: 3, released: 3, failed: 0 });
    expect(asked.sort()).toEqual(["alive", "dead"]);
    await sweeper.sweep(); // a new pass asks again
    expect(asked).toHaveLength(3);
  });

  it("survives a failing state backend, logging once per pass, and sweeps again when it returns", async () => {
    const c = await cluster();
    await c.hold("dead", 40n);
    let down = true;
    const flaky: StateBackend = { ...state, openHolds: (index) => (down ? Promise.reject(new Error("redis down")) : state.openHolds(index)) };
    const sweeper = createHoldSweeper({ state: flaky, lease: c.leases.self, tenants: () => ["org_1", "org_2"], logger: c.log.logger }, { intervalMs: 20 });
    expect(await sweeper.sweep()).toEqual({ tenants: 2, released: 0, failed: 2 });
    expect(c.log.lines().filter((l) => String(l.msg).startsWith("budget hold sweep failed"))).toHaveLength(1);
    down = false;
    sweeper.start(); // a pass now, then every ~20 ms
    for (let i = 0; i < 200 && (await c.reserved()) !== 0n; i++) await new Promise((r) => setTimeout(r, 10));
    await sweeper.stop();
    expect(await c.reserved()).toBe(0n);
  });
});
