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

describe("reservation recovery, its bounds", () => {
  it("finishes a settle that never landed, booking the actual spend", async () => {
    const { plan, delayed, reservations, recovery, counters } = setup();
    const outcome = await reservations.reserve({ tenant: "org_1", budgets: [budget], amountMicros: 500n });
    if (!outcome.ok) throw new Error("refused");
    plan.push("delayed"); // the settle never ran (and its late run is dropped here)
    await expect(reservations.settle(outcome.reservation, 120n)).rejects.toThrow(/timed out/);
    delayed.length = 0;
    expect((await counters()).reservedMicros).toBe(500n);
    recovery.settleLater(outcome.reservation, 120n);
    await recovery.drain();
    expect(await counters()).toMatchObject({ reservedMicros: 0n, spentMicros: 120n });
  });

  it("stops at its own tombstone whose reply was lost: asks nothing more and gives up on nothing", async () => {
    state = createMemoryState();
    const f = flaky(state);
    const reservations = createBudgetReservations({ state: f.backend, clock });
    let reattached = 0;
    const log = createLogCapture();
    const recovery = createReservationRecovery(
      { state: f.backend, reservations: { reserve: (r) => (reattached++, reservations.reserve(r)), settle: (r, a) => reservations.settle(r, a) }, logger: log.logger },
      { delaysMs: [1], maxAttempts: 5 },
    );
    const request = { tenant: "org_1", budgets: [budget], amountMicros: 300n, id: "r4" };
    f.plan.push("delayed", "lands"); // the original is lost; the tombstone lands, its reply lost
    await expect(reservations.reserve(request)).rejects.toThrow(/timed out/);
    recovery.abandon(request);
    await recovery.drain();
    expect(reattached).toBe(0);
    expect(log.lines().filter((l) => l.level === "error")).toEqual([]);
  });

  it("tries a job maxAttempts times, then gives up with an error", async () => {
    state = createMemoryState();
    let settles = 0;
    const log = createLogCapture();
    const recovery = createReservationRecovery(
      {
        state,
        reservations: {
          reserve: () => Promise.reject(new Error("unused")),
          settle: () => (settles++, Promise.reject(new Error("Command timed out"))),
        },
        logger: log.logger,
      },
      { delaysMs: [1], maxAttempts: 3 },
    );
    recovery.settleLater({ id: "s1" } as never, 10n);
    await recovery.drain();
    expect(settles).toBe(3);
    expect(log.lines().filter((l) => l.level === "error").map((l) => l.msg)).toEqual(["budget settle recovery gave up; the hold stays until its counters expire"]);
  });

  it("keeps at most maxJobs jobs, dropping (and logging) the ones beyond", async () => {
    state = createMemoryState();
    const log = createLogCapture();
    let release!: () => void;
    const blocked = new Promise<undefined>((resolve) => (release = () => resolve(undefined)));
    const recovery = createReservationRecovery(
      { state, reservations: { reserve: () => Promise.reject(new Error("unused")), settle: () => blocked }, logger: log.logger },
      { delaysMs: [1], maxJobs: 2 },
    );
    recovery.settleLater({ id: "a" } as never, 1n);
    expect(recovery.pending()).toBe(1);
    recovery.settleLater({ id: "b" } as never, 1n);
    expect(recovery.pending()).toBe(2);
    recovery.settleLater({ id: "c" } as never, 1n);
    expect(recovery.pending()).toBe(2);
    expect(log.lines().map((l) => [l.level, l.reservation])).toEqual([["error", "c"]]);
    release();
    await recovery.drain();
  });
});
