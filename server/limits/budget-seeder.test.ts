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

  it("reads the ledger only when a seed is missing, and fails closed when it cannot", async () => {
    const state = fresh();
    const failing = createBudgetSeeder({ state, clock, ledgerSpent: () => Promise.reject(new Error("postgres down")) });
    await expect(failing.ensure(TENANT, [monthly])).rejects.toThrow(/postgres down/);
    await createBudgetSeeder({ state, clock, ledgerSpent: async () => 0n }).ensure(TENANT, [monthly]);
    await failing.ensure(TENANT, [monthly]); // seeded: no ledger read needed
  });
});
