import { afterEach, describe, expect, it } from "vitest";
import { createLogCapture } from "../../test/support/log-capture.js";
import { createMemoryState } from "../store/state/memory-state.js";
import type { StateBackend } from "../store/state/state-backend.js";
import { createBudgetReservations, holdMarkerKey, type BudgetRef } from "./budget-reservation.js";
import { createReservationRecovery } from "./reservation-recovery.js";

const budget: BudgetRef = { id: "orgs/acme/budgets/total", level: "key", limitMicros: 1000n, period: "total", tz: "UTC" };
const clock = { now: () => Date.now() };
let state: StateBackend;
afterEach(async () => {
  await state?.close();
});

/**
 * The shared state, with the next counter writes (`reserve`, `reserveHold`, `settleHold`) failing
 * as a timeout would: after running, or instead of running (kept in `delayed` to run late).
 */
function flaky(inner: StateBackend) {
  const delayed: (() => Promise<unknown>)[] = [];
  const plan: ("lands" | "delayed")[] = [];
  const faulty = async <T>(run: () => Promise<T>): Promise<T> => {
    const next = plan.shift();
    if (next === "lands") {
      await run();
      throw new Error("Command timed out");
    }
    if (next === "delayed") {
      delayed.push(run);
      throw new Error("Command timed out");
    }
    return run();
  };
  const backend: StateBackend = {
    ...inner,
    get: (k) => inner.get(k),
    reserve: (entries, ttl) => faulty(() => inner.reserve(entries, ttl)),
    reserveHold: (hold, journal, ttl) => faulty(() => inner.reserveHold(hold, journal, ttl)),
    settleHold: (settlement, ttl) => faulty(() => inner.settleHold(settlement, ttl)),
  };
  return { backend, plan, delayed };
}

function setup() {
  state = createMemoryState();
  const f = flaky(state);
  const reservations = createBudgetReservations({ state: f.backend, clock });
  const recovery = createReservationRecovery({ state: f.backend, reservations, logger: createLogCapture().logger }, { delaysMs: [1] });
  const counters = () => createBudgetReservations({ state, clock }).snapshot("org_1", budget);
  return { ...f, reservations, recovery, counters };
}

describe("reservation recovery", () => {
  it("gives back a hold whose reserve landed but whose reply was lost", async () => {
    const { plan, reservations, recovery, counters } = setup();
    const request = { tenant: "org_1", budgets: [budget], amountMicros: 300n, id: "r1" };
    plan.push("lands");
    await expect(reservations.reserve(request)).rejects.toThrow(/timed out/);
    expect((await counters()).reservedMicros).toBe(300n);
    recovery.abandon(request);
    await recovery.drain();
    expect(await counters()).toMatchObject({ reservedMicros: 0n, spentMicros: 0n });
    expect(await state.get(holdMarkerKey("org_1", "r1"))).toBeUndefined();
  });

  it("bars a reserve that had not landed yet, so it holds nothing when it arrives late", async () => {
    const { plan, delayed, reservations, recovery, counters } = setup();
    const request = { tenant: "org_1", budgets: [budget], amountMicros: 300n, id: "r2" };
    plan.push("delayed");
    await expect(reservations.reserve(request)).rejects.toThrow(/timed out/);
    recovery.abandon(request);
    await recovery.drain();
    // The original command finally runs (Redis woke up): refused by its own marker.
    expect(await delayed[0]!()).toMatchObject({ ok: false, index: 0 });
    expect((await counters()).reservedMicros).toBe(0n);
    // The budget is whole: a new call may hold all of it.
    expect((await reservations.reserve({ tenant: "org_1", budgets: [budget], amountMicros: 1000n })).ok).toBe(true);
  });

  it("recognizes its own tombstone when the tombstone's reply was lost too", async () => {
    const { plan, reservations, recovery, counters } = setup();
    const request = { tenant: "org_1", budgets: [budget], amountMicros: 300n, id: "r3" };
    plan.push("delayed", "lands"); // the original is lost; the first tombstone lands, its reply lost
    await expect(reservations.reserve(request)).rejects.toThrow(/timed out/);
    recovery.abandon(request);
    await recovery.drain();
    expect(await counters()).toMatchObject({ reservedMicros: 0n, spentMicros: 0n });
  });

  it("finishes a settle that kept failing, booking the spend once", async () => {
    const { plan, reservations, recovery, counters } = setup();
    const outcome = await reservations.reserve({ tenant: "org_1", budgets: [budget], amountMicros: 500n });
    if (!outcome.ok) throw new Error("refused");
    plan.push("lands", "delayed"); // the settle lands (reply lost), then a retry is lost
    await expect(reservations.settle(outcome.reservation, 120n)).rejects.toThrow(/timed out/);
    recovery.settleLater(outcome.reservation, 120n);
    await recovery.drain();
    expect(await counters()).toMatchObject({ reservedMicros: 0n, spentMicros: 120n });
  });
});
