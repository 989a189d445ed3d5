import { afterEach, describe, expect, it } from "vitest";
import { createMemoryState } from "../store/state/memory-state.js";
import type { StateBackend } from "../store/state/state-backend.js";
import { createBudgetReservations, type BudgetRef } from "./budget-reservation.js";
import { createBudgetSeeder } from "./budget-seeder.js";

const TENANT = "org_a";
const now = Date.parse("2026-11-29T12:00:00Z");
const clock = { now: () => now };
const monthly: BudgetRef = { id: "orgs/acme/budgets/m", level: "key", limitMicros: 1000n, period: "monthly", tz: "UTC" };
const states: StateBackend[] = [];
const fresh = () => {
  const s = createMemoryState({ now: clock.now });
  states.push(s);
  return s;
};
afterEach(async () => {
  await Promise.all(states.splice(0).map((s) => s.close()));
});

describe("budget seeder", () => {
  it("starts a budget's counters from the ledger's spend in the period, once", async () => {
    const state = fresh();
    let reads = 0;
    const seeder = createBudgetSeeder({ state, clock, ledgerSpent: async () => (reads++, 700n) });
    await seeder.ensure(TENANT, [monthly]);
    await seeder.ensure(TENANT, [monthly]);
    expect(reads).toBe(1);
    const budgets = createBudgetReservations({ state, clock });
    expect(await budgets.snapshot(TENANT, monthly)).toMatchObject({ spentMicros: 700n, reservedMicros: 0n });
    // The cap sees the seeded spend: 700 + 301 > 1000.
    expect((await budgets.reserve({ tenant: TENANT, budgets: [monthly], amountMicros: 301n })).ok).toBe(false);
    expect((await budgets.reserve({ tenant: TENANT, budgets: [monthly], amountMicros: 300n })).ok).toBe(true);
  });

  it("seeds once when several replicas race", async () => {
    const state = fresh();
    const replicas = Array.from({ length: 5 }, () => createBudgetSeeder({ state, clock, ledgerSpent: async () => 250n }));
    await Promise.all(replicas.map((r) => r.ensure(TENANT, [monthly])));
    expect(await createBudgetReservations({ state, clock }).snapshot(TENANT, monthly)).toMatchObject({ spentMicros: 250n });
  });

  it("re-seeds from the ledger after the state loses its data, before the next admission", async () => {
    let ledger = 100n;
    let state = fresh();
    const seederOn = (s: StateBackend) => createBudgetSeeder({ state: s, clock, ledgerSpent: async () => ledger });
    await seederOn(state).ensure(TENANT, [monthly]);
    const held = await createBudgetReservations({ state, clock }).reserve({ tenant: TENANT, budgets: [monthly], amountMicros: 400n });
    expect(held.ok).toBe(true);
    ledger = 500n; // what the ledger holds when the data is lost
    state = fresh(); // Redis restarted empty
    await seederOn(state).ensure(TENANT, [monthly]);
    expect(await createBudgetReservations({ state, clock }).snapshot(TENANT, monthly)).toMatchObject({ spentMicros: 500n, reservedMicros: 0n });
  });

  it("as a reservation's seeder: reads no marker, one ledger read per replica, keeps the marker as long-lived as the counters", async () => {
    let t = now;
    const tick = { now: () => t };
    const state = createMemoryState({ now: tick.now });
    states.push(state);
    const total: BudgetRef = { ...monthly, id: "orgs/acme/budgets/t", period: "total" };
    const gets: string[] = [];
    const get = state.get.bind(state);
    state.get = (key) => (gets.push(key), get(key));
    let reads = 0;
    const ttls = { totalTtlMs: 60_000 };
    const seeder = createBudgetSeeder({ state, clock: tick, ledgerSpent: async () => (reads++, 700n) }, ttls);
    const budgets = createBudgetReservations({ state, clock: tick }, ttls);
    const reserve = (amount: bigint) => budgets.reserve({ tenant: TENANT, budgets: [total], amountMicros: amount, seeder });
    const outcomes = await Promise.all([reserve(100n), reserve(100n), reserve(101n)]);
    expect(outcomes.map((o) => o.ok)).toEqual([true, true, false]); // 700 + 200 + 101 > 1000
    expect(reads).toBe(1);
    for (const o of outcomes) if (o.ok) await budgets.settle(o.reservation, 0n);
    // The marker lives 60 s from its seed; each use past `touchMs` extends it with the counters.
    for (const at of [50_000, 100_000, 150_000]) {
      t = now + at;
      const o = await reserve(10n);
      expect(o.ok).toBe(true);
      if (o.ok) await budgets.settle(o.reservation, 10n);
    }
    expect(reads).toBe(1); // never re-seeded: 700 + 3 × 10 settled
    expect(await budgets.snapshot(TENANT, total)).toMatchObject({ spentMicros: 730n, reservedMicros: 0n });
    expect(gets.filter((key) => key.startsWith("budget-seed:"))).toEqual([]); // markers are checked inside the reserve
    expect(gets.length).toBe(3); // the refusal's read of the spent counter, the snapshot's two
  });

  it("reads the ledger only when a seed is missing, and fails closed when it cannot", async () => {
    const state = fresh();
    const failing = createBudgetSeeder({ state, clock, ledgerSpent: () => Promise.reject(new Error("postgres down")) });
    await expect(failing.ensure(TENANT, [monthly])).rejects.toThrow(/postgres down/);
    await createBudgetSeeder({ state, clock, ledgerSpent: async () => 0n }).ensure(TENANT, [monthly]);
    await failing.ensure(TENANT, [monthly]); // seeded: no ledger read needed
  });
});
