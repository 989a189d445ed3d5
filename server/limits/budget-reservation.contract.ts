import { randomUUID } from "node:crypto";
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { StateBackend } from "../store/state/state-backend.js";
import { counterKey, createBudgetReservations, openHoldsKey, seedMarkerKey, type BudgetRef, type BudgetReservations, type Reservation } from "./budget-reservation.js";
import { createBudgetSeeder } from "./budget-seeder.js";

/** A key space for one test, on one backend implementation. */
export interface StateHarness {
  /**
   * A client of this test's key space. In-process: the one shared instance. Redis: a new
   * connection each call, so several clients stand for several gateway replicas.
   */
  connect(): StateBackend;
  /**
   * PTTL of every key in the key space, by the name the state backend was given (Redis only;
   * the in-process backend cannot hold a key without one).
   */
  ttls?(): Promise<Map<string, number>>;
  /** Closes every client and removes the key space. */
  dispose(): Promise<void>;
}

/** How a faulty backend fails one call. */
export type Fault = "none" | "before" | "after";

/**
 * Wraps a backend so its counter writes (`reserve`, `reserveHold`, `settleHold`) fail as
 * scripted, in call order: `before` rejects without touching state (a refused connection),
 * `after` applies the call and then rejects (a reply lost to a timeout). Once the script runs
 * out, calls pass through.
 */
export function faultyReserve(state: StateBackend, script: Fault[]): StateBackend {
  const queue = [...script];
  const faulty = async <T>(run: () => Promise<T>): Promise<T> => {
    const fault = queue.shift() ?? "none";
    if (fault === "before") throw new Error("injected: connection refused");
    const result = await run();
    if (fault === "after") throw new Error("injected: reply lost");
    return result;
  };
  return {
    ...state,
    reserve: (entries, ttlMs) => faulty(() => state.reserve(entries, ttlMs)),
    reserveHold: (hold, journal, ttlMs) => faulty(() => state.reserveHold(hold, journal, ttlMs)),
    settleHold: (settlement, ttlMs) => faulty(() => state.settleHold(settlement, ttlMs)),
  };
}

const TENANT = "org-acme";
const DAY = 86_400_000;
const start = Date.parse("2026-11-29T12:00:00Z");

const budget = (id: string, level: BudgetRef["level"], limit: number, period: BudgetRef["period"] = "daily", tz = "UTC"): BudgetRef => ({
  id,
  level,
  limitMicros: BigInt(limit),
  period,
  tz,
});

/** Retries a call that rejected, as a caller would after a timeout. */
async function retry<T>(fn: () => Promise<T>, attempts = 100): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= attempts) throw err;
    }
  }
}

/**
 * The behaviour of `createBudgetReservations` on a real state backend, run once per backend
 * (in-process and Redis), so the embedded default and a multi-replica deployment keep the same
 * money guarantees (RELIABILITY P1, P2, P6).
 */
export function runBudgetReservationContract(name: string, factory: (now: () => number) => StateHarness): void {
  describe(`budget reservations: ${name}`, () => {
    let now: number;
    let harness: StateHarness;
    let state: StateBackend;
    const clock = { now: () => now };
    let budgets: BudgetReservations;
    const org = budget("orgs/acme/budgets/org", "org", 1_000);
    const team = budget("orgs/acme/budgets/team", "team", 600);
    const key = budget("orgs/acme/budgets/key", "key", 400);
    const hierarchy = [key, team, org];

    const snap = async (b: BudgetRef) => budgets.snapshot(TENANT, b);
    const expectCounters = async (b: BudgetRef, spent: number, reserved: number) => {
      expect(await snap(b), b.id).toMatchObject({ spentMicros: BigInt(spent), reservedMicros: BigInt(reserved) });
    };
    const reserve = async (amount: number, on: BudgetRef[] = hierarchy): Promise<Reservation> => {
      const outcome = await budgets.reserve({ tenant: TENANT, budgets: on, amountMicros: BigInt(amount) });
      if (!outcome.ok) throw new Error(`refused by ${outcome.refusal.budget.id}`);
      return outcome.reservation;
    };

    beforeEach(() => {
      now = start;
      harness = factory(() => now);
      state = harness.connect();
      budgets = createBudgetReservations({ state, clock });
    });

    afterEach(async () => {
      try {
        const ttls = await harness.ttls?.();
        for (const [k, ttl] of ttls ?? []) expect(ttl, `TTL of ${k}`).toBeGreaterThan(0);
      } finally {
        await harness.dispose();
      }
    });

    it("holds on every level, then books the actual and gives the rest back", async () => {
      const r = await reserve(300);
      for (const b of hierarchy) await expectCounters(b, 0, 300);
      await budgets.settle(r, 120n);
      for (const b of hierarchy) await expectCounters(b, 120, 0);
      expect(r.settled).toBe(true);
    });

    it("refuses all-or-nothing, naming the first budget that would go over", async () => {
      await reserve(350);
      const other = budget("orgs/acme/budgets/key2", "key", 400);
      const outcome = await budgets.reserve({ tenant: TENANT, budgets: [other, team, org], amountMicros: 300n });
      expect(outcome.ok).toBe(false);
      if (outcome.ok) return;
      expect(outcome.refusal).toMatchObject({ budget: team, limitMicros: 600n, spentMicros: 0n, reservedMicros: 350n, requestedMicros: 300n });
      expect(outcome.refusal.period.key).toBe("2026-11-29");
      // Nothing was held anywhere, the key that had room included.
      await expectCounters(other, 0, 0);
      await expectCounters(org, 0, 350);
    });

    it("admits up to the cap exactly and splits spent from reserved in a refusal", async () => {
      const a = await reserve(250);
      await budgets.settle(a, 250n);
      await reserve(150); // key: 250 spent + 150 held = 400, the cap
      const outcome = await budgets.reserve({ tenant: TENANT, budgets: hierarchy, amountMicros: 1n });
      expect(outcome.ok ? undefined : outcome.refusal).toMatchObject({ budget: key, spentMicros: 250n, reservedMicros: 150n, requestedMicros: 1n });
    });

    it("books an overage past the cap, after which the next request is refused", async () => {
      const r = await reserve(400);
      await budgets.settle(r, 450n);
      await expectCounters(key, 450, 0);
      const outcome = await budgets.reserve({ tenant: TENANT, budgets: hierarchy, amountMicros: 0n });
      expect(outcome.ok).toBe(false);
    });

    it("settles once: a second settle or a release afterwards is a no-op", async () => {
      const r = await reserve(300);
      await budgets.settle(r, 100n);
      await budgets.settle(r, 100n);
      await budgets.settle(r, 999n);
      await budgets.release(r);
      for (const b of hierarchy) await expectCounters(b, 100, 0);
    });

    it("releases the whole hold of a call that was never billed", async () => {
      const r = await reserve(300);
      await budgets.release(r);
      for (const b of hierarchy) await expectCounters(b, 0, 0);
    });

    it("extends a hold while the caps allow, and refuses beyond", async () => {
      const r = await reserve(200);
      expect((await budgets.extend(r, 150n)).ok).toBe(true);
      expect(r.heldMicros).toBe(350n);
      const refused = await budgets.extend(r, 100n);
      expect(refused.ok ? undefined : refused.refusal).toMatchObject({ budget: key, reservedMicros: 350n, requestedMicros: 100n });
      expect(r.heldMicros).toBe(350n);
      await budgets.settle(r, 330n);
      for (const b of hierarchy) await expectCounters(b, 330, 0);
      await expect(budgets.extend(r, 1n)).rejects.toThrow(/already settled/);
    });

    it("never counts twice when replies are lost and calls are retried", async () => {
      // One entry per state call, in order.
      const script: Fault[] = ["after", "none", "before", "after", "none", "after", "none"];
      const faulty = createBudgetReservations({ state: faultyReserve(state, script), clock });
      const request = { tenant: TENANT, budgets: hierarchy, amountMicros: 100n, id: "req-1:attempt-1" };
      await expect(faulty.reserve(request)).rejects.toThrow(/reply lost/); // 1: landed
      const outcome = await faulty.reserve(request); // 2: recognized by its marker, not held again
      expect(outcome.ok).toBe(true);
      if (!outcome.ok) return;
      const r = outcome.reservation;
      await expect(faulty.extend(r, 50n)).rejects.toThrow(/connection refused/); // 3: did not land
      await expect(faulty.extend(r, 50n)).rejects.toThrow(/reply lost/); // 4: landed
      for (const b of hierarchy) await expectCounters(b, 0, 150);
      // 5: the unresolved extension is recognized; 6: the settle lands but its reply is lost.
      await expect(faulty.settle(r, 170n)).rejects.toThrow(/reply lost/);
      await faulty.settle(r, 170n); // 7: finds its marker gone: already settled, nothing counted again
      await faulty.settle(r, 170n);
      for (const b of hierarchy) await expectCounters(b, 170, 0);
      expect(r.heldMicros).toBe(150n);
    });

    it("counts a budget reached twice (through two tags) once", async () => {
      // 300 fits the key's 400 once; counted twice it would need 600.
      const r = await reserve(300, [key, team, key]);
      expect(r.lines.map((line) => line.budget.id)).toEqual([key.id, team.id]);
      await expectCounters(key, 0, 300);
      await budgets.settle(r, 300n);
      await expectCounters(key, 300, 0);
      await expectCounters(team, 300, 0);
    });

    it("counts a cap beyond 2^53 − 1 µ$ (int64 max as 'unlimited') against 2^53 − 1 instead of failing", async () => {
      const unlimited = budget("orgs/acme/budgets/unlimited", "org", 0);
      unlimited.limitMicros = 2n ** 63n - 1n;
      const r = await reserve(5_000_000, [unlimited]);
      expect((await budgets.extend(r, 1_000_000n)).ok).toBe(true);
      await budgets.settle(r, 4_000_000n);
      await expectCounters(unlimited, 4_000_000, 0);
    });

    it("admits up to exactly 2^53 − 1 µ$ under such a cap", async () => {
      const unlimited = budget("orgs/acme/budgets/unlimited", "org", 0);
      unlimited.limitMicros = 2n ** 63n - 1n;
      const r = await reserve(Number.MAX_SAFE_INTEGER - 1, [unlimited]);
      expect((await budgets.extend(r, 1n)).ok).toBe(true);
      expect((await budgets.extend(r, 1n)).ok).toBe(false);
      await budgets.release(r);
      await expectCounters(unlimited, 0, 0);
    });

    it("never reports a negative amount reserved, even when the admission counter lost money the spend counter kept", async () => {
      const r = await reserve(300, [key]);
      await budgets.settle(r, 200n);
      // The admission counter is lost (evicted, a manual fix-up) while `:spent` survives.
      await state.delete(counterKey(TENANT, key, "2026-11-29"));
      await expectCounters(key, 200, 0);
      const second = await reserve(100, [key]);
      // What the settle reports: 250 spent, the admission counter at 100 + 50 − 100 = 50.
      expect(await budgets.settle(second, 50n)).toEqual([{ budget: key, period: second.lines[0]!.period, spentMicros: 250n, reservedMicros: 0n }]);
      const refused = await budgets.reserve({ tenant: TENANT, budgets: [key], amountMicros: 351n });
      expect(refused.ok ? undefined : refused.refusal).toMatchObject({ budget: key, spentMicros: 250n, reservedMicros: 0n, requestedMicros: 351n });
    });

    it("holds nothing in the state for a call no budget covers, and settles it as a no-op", async () => {
      const outcome = await budgets.reserve({ tenant: TENANT, budgets: [], amountMicros: 300n });
      if (!outcome.ok) throw new Error("refused");
      const r = outcome.reservation;
      expect(r.heldMicros).toBe(300n);
      expect(r.lines).toEqual([]);
      expect((await budgets.extend(r, 50n)).ok).toBe(true);
      expect(r.heldMicros).toBe(350n);
      expect(await budgets.settle(r, 999n)).toBeUndefined();
      expect(r.settled).toBe(true);
      expect(await state.openHolds(openHoldsKey(TENANT))).toEqual([]);
      for (const b of hierarchy) await expectCounters(b, 0, 0);
    });

    it("refuses a tenant that would break the hash tag, writing nothing", async () => {
      for (const tenant of ["", "org{x}", "org}", "{org"]) {
        await expect(budgets.reserve({ tenant, budgets: hierarchy, amountMicros: 1n })).rejects.toThrow(RangeError);
      }
      expect(await state.openHolds(openHoldsKey("org{x}"))).toEqual([]);
    });

    it("rejects an id reused by a second reservation while the first is open, holding nothing more", async () => {
      const first = await budgets.reserve({ tenant: TENANT, budgets: hierarchy, amountMicros: 100n, id: "dup" });
      if (!first.ok) throw new Error("refused");
      expect((await budgets.extend(first.reservation, 50n)).ok).toBe(true);
      // Its marker counts two holds: a new reservation under the same id is not a retry of the first.
      await expect(budgets.reserve({ tenant: TENANT, budgets: hierarchy, amountMicros: 100n, id: "dup" })).rejects.toThrow(/reused id/);
      for (const b of hierarchy) await expectCounters(b, 0, 150);
      await budgets.settle(first.reservation, 150n);
      for (const b of hierarchy) await expectCounters(b, 150, 0);
    });

    it("refuses a different extension while one whose reply was lost is unresolved, then resolves it once", async () => {
      const faulty = createBudgetReservations({ state: faultyReserve(state, ["none", "after"]), clock });
      const outcome = await faulty.reserve({ tenant: TENANT, budgets: hierarchy, amountMicros: 100n });
      if (!outcome.ok) throw new Error("refused");
      const r = outcome.reservation;
      await expect(faulty.extend(r, 50n)).rejects.toThrow(/reply lost/); // landed
      await expect(faulty.extend(r, 80n)).rejects.toThrow(/unresolved/);
      for (const b of hierarchy) await expectCounters(b, 0, 150);
      expect((await faulty.extend(r, 50n)).ok).toBe(true); // recognized, not held again
      expect(r.heldMicros).toBe(150n);
      for (const b of hierarchy) await expectCounters(b, 0, 150);
      await faulty.settle(r, 150n);
      for (const b of hierarchy) await expectCounters(b, 150, 0);
    });

    it("rejects rather than admits when a seeder leaves the counters unseeded", async () => {
      const lazy = { touch: async () => {}, seed: async () => {} };
      await expect(budgets.reserve({ tenant: TENANT, budgets: hierarchy, amountMicros: 100n, seeder: lazy })).rejects.toThrow(/still unseeded/);
      for (const b of hierarchy) await expectCounters(b, 0, 0);
    });

    it("journals every hold step, and settles exactly after a sweep released the hold", async () => {
      const r = await reserve(300);
      expect((await budgets.extend(r, 50n)).ok).toBe(true);
      const other = await reserve(20);
      const [open] = (await state.openHolds(openHoldsKey(TENANT))).filter((h) => h.member === r.id);
      expect([...open!.held.values()]).toEqual([350, 350, 350]);
      // A sweep (its owner looked dead) gives the whole hold back…
      const released = await state.releaseHolds(openHoldsKey(TENANT), [{ member: r.id, owner: open!.owner, marker: `budget-hold:{${TENANT}}:${r.id}`, keys: [...open!.held.keys()] }], 60_000);
      expect(released).toHaveLength(1);
      for (const b of hierarchy) await expectCounters(b, 0, 20);
      // …then the owner, alive after all, extends and settles: nothing is released twice.
      expect((await budgets.extend(r, 10n)).ok).toBe(true);
      for (const b of hierarchy) await expectCounters(b, 0, 30);
      await budgets.settle(r, 200n);
      await budgets.settle(other, 20n);
      for (const b of hierarchy) await expectCounters(b, 220, 0);
      expect(await state.openHolds(openHoldsKey(TENANT))).toEqual([]);
    });

    it("admits at most the cap when 64 requests race, across three replicas (P1)", async () => {
      const replicas = [budgets, createBudgetReservations({ state: harness.connect(), clock }), createBudgetReservations({ state: harness.connect(), clock })];
      const cap = budget("orgs/acme/budgets/dollar", "key", 1_000_000);
      const costs = Array.from({ length: 64 }, (_, i) => 20_000 + ((i * 7919) % 30_000));
      const outcomes = await Promise.all(
        costs.map((amount, i) => replicas[i % 3]!.reserve({ tenant: TENANT, budgets: [cap], amountMicros: BigInt(amount) })),
      );
      const admitted = costs.filter((_, i) => outcomes[i]!.ok);
      const total = admitted.reduce((a, b) => a + b, 0);
      expect(total).toBeLessThanOrEqual(1_000_000);
      // No false refusal: holds only grew during the race, so each refused request still does not fit.
      costs.forEach((amount, i) => {
        if (!outcomes[i]!.ok) expect(total + amount).toBeGreaterThan(1_000_000);
      });
      // Settle: every third call used its whole max_tokens, the rest less.
      let spent = 0;
      await Promise.all(
        outcomes.map(async (outcome, i) => {
          if (!outcome.ok) return;
          const actual = i % 3 === 0 ? costs[i]! : Math.floor(costs[i]! / 2);
          spent += actual;
          await replicas[(i + 1) % 3]!.settle(outcome.reservation, BigInt(actual));
        }),
      );
      expect(await budgets.snapshot(TENANT, cap)).toMatchObject({ spentMicros: BigInt(spent), reservedMicros: 0n });
      expect(spent).toBeLessThanOrEqual(1_000_000);
    });

    it("seeds lost counters from the ledger, exactly once across concurrent replicas, before admitting", async () => {
      const cap = budget("orgs/acme/budgets/seeded", "key", 950);
      let ledger = 700n;
      let reads = 0;
      const ledgerSpent = async () => {
        reads++;
        await new Promise((resolve) => setTimeout(resolve, 5)); // a Postgres round trip: the replicas race
        return ledger;
      };
      const replicas = [0, 1, 2].map(() => {
        const client = harness.connect();
        return { budgets: createBudgetReservations({ state: client, clock }), seeder: createBudgetSeeder({ state: client, clock, ledgerSpent }) };
      });
      const reserveOn = (r: (typeof replicas)[number], amount: bigint) => r.budgets.reserve({ tenant: TENANT, budgets: [cap], amountMicros: amount, seeder: r.seeder });
      const admittedOf = (outcomes: Awaited<ReturnType<typeof reserveOn>>[]) => outcomes.filter((o) => o.ok).length;
      const settleAll = async (outcomes: Awaited<ReturnType<typeof reserveOn>>[]) => {
        for (const o of outcomes) if (o.ok) await budgets.settle(o.reservation, 100n);
      };

      // First use of the period: 700 µ$ already in the ledger; 200 µ$ more fit under the cap, not 300.
      // Each admitted call settles 100 µ$.
      const first = await Promise.all(replicas.map((r) => reserveOn(r, 100n)));
      expect(admittedOf(first)).toBe(2);
      expect(await snap(cap)).toMatchObject({ spentMicros: 700n, reservedMicros: 200n });
      await settleAll(first);
      const seededReads = reads;

      // Seeded: later reservations read no ledger.
      const again = await reserveOn(replicas[0]!, 0n);
      expect(again.ok).toBe(true);
      if (again.ok) await budgets.settle(again.reservation, 0n);
      expect(reads).toBe(seededReads);

      // Redis loses everything (FLUSHALL); the ledger has the 900 µ$ settled meanwhile.
      ledger = 900n;
      await state.deleteByPrefix("");
      const afterLoss = await Promise.all(replicas.map((r) => reserveOn(r, 25n)));
      expect(admittedOf(afterLoss)).toBe(2); // 900 + 2 × 25: seeded once (twice: none fits; never: all three)
      expect(await snap(cap)).toMatchObject({ spentMicros: 900n, reservedMicros: 50n });
      await settleAll(afterLoss);

      // Only the marker is lost (DEL): the next reservations add the ledger's spend again, once —
      // an over-count, the safe direction — and are refused (1100 + 300 > 950).
      ledger = 300n;
      await state.delete(seedMarkerKey(TENANT, cap, "2026-11-29"));
      const afterDel = await Promise.all(replicas.map((r) => reserveOn(r, 0n)));
      expect(admittedOf(afterDel)).toBe(0);
      expect(await snap(cap)).toMatchObject({ spentMicros: 1_400n, reservedMicros: 0n });
      expect(await state.get(seedMarkerKey(TENANT, cap, "2026-11-29"))).toBeDefined();
    });

    it("starts every period from zero and books a late settle in the period it was reserved in", async () => {
      const daily = budget("orgs/acme/budgets/daily", "key", 100);
      now = Date.parse("2026-11-29T23:59:30Z");
      const late = await reserve(80, [daily]);
      now = Date.parse("2026-11-30T00:00:10Z");
      const next = await reserve(80, [daily]); // a fresh day: the 80 held yesterday do not count
      await budgets.settle(late, 50n);
      expect(await budgets.snapshot(TENANT, daily, new Date("2026-11-29T12:00:00Z"))).toMatchObject({ spentMicros: 50n, reservedMicros: 0n });
      expect(await budgets.snapshot(TENANT, daily)).toMatchObject({ spentMicros: 0n, reservedMicros: 80n });
      await budgets.settle(next, 80n);
    });

    it("gives every counter a TTL covering its period's remaining length (P6), 25-hour days included", async () => {
      now = Date.parse("2026-11-01T04:30:00Z"); // 00:30 in New York on a 25-hour day
      const daily = budget("orgs/acme/budgets/ny", "key", 1_000, "daily", "America/New_York");
      const monthly = budget("orgs/acme/budgets/month", "org", 1_000, "monthly");
      const total = budget("orgs/acme/budgets/total", "org", 1_000, "total");
      const r = await reserve(10, [daily]);
      expect(r.lines[0]!.period.end!.getTime() - r.lines[0]!.period.start.getTime()).toBe(25 * 3_600_000);
      await reserve(10, [monthly, total]);
      const ttls = await harness.ttls?.();
      if (ttls === undefined) return; // in-process: every write carries a TTL by construction
      const ttlOf = (b: BudgetRef, period: string) => ttls.get(counterKey(TENANT, b, period)) ?? -2;
      expect(ttlOf(daily, "2026-11-01")).toBeGreaterThanOrEqual(24.5 * 3_600_000);
      expect(ttlOf(monthly, "2026-11")).toBeGreaterThanOrEqual(29 * DAY);
      expect(ttlOf(total, "total")).toBeGreaterThanOrEqual(399 * DAY);
      for (const [k, ttl] of ttls) expect(ttl, k).toBeGreaterThan(0);
    });

    it("keeps the books exact under random concurrent reserve/extend/settle/release with lost replies (property)", async () => {
      await fc.assert(
        fc.asyncProperty(budgetOpsArbitrary, async (ops) => {
          await runBudgetModel(harness, clock, ops);
        }),
        { numRuns: name === "redis" ? 25 : 80 },
      );
    });
  });
}

/** One generated operation. */
export interface Op {
  kind: "reserve" | "extend" | "settle" | "release";
  key: number;
  amount: number;
  actual: number;
  target: number;
  /** Start a new concurrent wave before this operation. */
  wave: boolean;
  faults: Fault[];
}

/** Random operation sequences for {@link runBudgetModel}. */
export const budgetOpsArbitrary = fc.array(
  fc.record({
    kind: fc.constantFrom<Op["kind"]>("reserve", "reserve", "extend", "settle", "release"),
    key: fc.integer({ min: 0, max: 2 }),
    amount: fc.integer({ min: 0, max: 150 }),
    actual: fc.integer({ min: 0, max: 220 }),
    target: fc.nat(),
    wave: fc.boolean(),
    faults: fc.array(fc.constantFrom<Fault>("none", "none", "before", "after"), { maxLength: 2 }),
  }),
  { minLength: 1, maxLength: 30 },
);

interface ModelReservation {
  reservation: Reservation;
  levels: string[];
  held: number;
}

/**
 * Runs `ops` in waves of concurrent operations against the real module and a plain model (`wrap`
 * may reorder the state calls, e.g. through an `fc.scheduler`), every reserve going through a
 * seeder whose ledger holds some spend per level (its seed steps fail like the rest), and
 * checks after each wave and at the end: (a) settled spend on every level equals its ledger seed,
 * once, plus the sum of the actuals settled on it — settles retried after lost replies and
 * repeated included; (b) the
 * admission counter never exceeds the cap except by the overage of settled requests; (c) every
 * key has a TTL and no reservation marker outlives its reservation.
 */
export async function runBudgetModel(
  harness: StateHarness,
  clock: { now: () => number },
  ops: Op[],
  wrap: (state: StateBackend) => StateBackend = (state) => state,
): Promise<void> {
  const tenant = `${TENANT}-${randomUUID()}`;
  const caps: Record<string, number> = { org: 500, "team-a": 300, "team-b": 250, k0: 200, k1: 180, k2: 220 };
  const refs = Object.fromEntries(Object.entries(caps).map(([id, cap]) => [id, budget(id, id === "org" ? "org" : id.startsWith("team") ? "team" : "key", cap)]));
  const levelsOf = (k: number): string[] => [`k${k}`, k < 2 ? "team-a" : "team-b", "org"];
  const script: Fault[] = ops.flatMap((op) => op.faults);
  const faulty = faultyReserve(wrap(harness.connect()), script);
  const budgets = createBudgetReservations({ state: faulty, clock });
  const ledger: Record<string, number> = { org: 40, "team-a": 25, "team-b": 0, k0: 10, k1: 0, k2: 5 };
  const seeder = createBudgetSeeder({ state: faulty, clock, ledgerSpent: async (_, ref) => BigInt(ledger[ref.id]!) });
  const spent: Record<string, number> = Object.fromEntries(Object.keys(caps).map((id) => [id, 0]));
  const overage: Record<string, number> = { ...spent };
  /** Levels a reserve has seeded (once any reserve on them returned, their counters hold the ledger's spend). */
  const seeded = new Set<string>();
  const seed = (levels: string[]): void => {
    for (const level of levels) {
      if (seeded.has(level)) continue;
      seeded.add(level);
      spent[level]! += ledger[level]!;
    }
  };
  let open: ModelReservation[] = [];
  let nextId = 0;

  const settle = async (m: ModelReservation, actual: number): Promise<void> => {
    await retry(() => budgets.settle(m.reservation, BigInt(actual)));
    await budgets.settle(m.reservation, BigInt(actual)); // settling twice is a no-op
    for (const level of m.levels) {
      spent[level]! += actual;
      overage[level]! += Math.max(0, actual - m.held);
    }
  };

  const check = async (): Promise<void> => {
    for (const [id, ref] of Object.entries(refs)) {
      const snapshot = await budgets.snapshot(tenant, ref);
      const held = open.filter((m) => m.levels.includes(id)).reduce((sum, m) => sum + m.held, 0);
      expect(snapshot.spentMicros, `(a) spent on ${id}`).toBe(BigInt(spent[id]!));
      expect(snapshot.reservedMicros, `held on ${id}`).toBe(BigInt(held));
      expect(spent[id]! + held, `(b) cap of ${id}`).toBeLessThanOrEqual(caps[id]! + overage[id]!);
    }
  };

  const waves: Op[][] = [];
  for (const op of ops) {
    if (op.wave || waves.length === 0) waves.push([]);
    waves[waves.length - 1]!.push(op);
  }
  for (const wave of waves) {
    const available = [...open];
    const single = wave.length === 1;
    await Promise.all(
      wave.map(async (op) => {
        if (op.kind === "reserve" || available.length === 0) {
          const levels = levelsOf(op.key);
          const spentBefore = (l: string) => spent[l]! + (seeded.has(l) ? 0 : ledger[l]!);
          const expected = levels.every((l) => spentBefore(l) + open.filter((m) => m.levels.includes(l)).reduce((s, m) => s + m.held, 0) + op.amount <= caps[l]!);
          const id = `r${nextId++}`;
          const outcome = await retry(() => budgets.reserve({ tenant, budgets: levels.map((l) => refs[l]!), amountMicros: BigInt(op.amount), id, seeder }));
          seed(levels);
          if (single) expect(outcome.ok, `reserve ${op.amount} on ${levels.join(",")}`).toBe(expected);
          if (outcome.ok) open.push({ reservation: outcome.reservation, levels, held: op.amount });
          return;
        }
        const m = available.splice(op.target % available.length, 1)[0]!;
        if (op.kind === "extend") {
          const outcome = await retry(() => budgets.extend(m.reservation, BigInt(op.amount)));
          if (outcome.ok) m.held += op.amount;
          expect(m.reservation.heldMicros).toBe(BigInt(m.held));
          return;
        }
        open = open.filter((o) => o !== m);
        await settle(m, op.kind === "release" ? 0 : op.actual);
      }),
    );
    await check();
  }
  for (const m of open.splice(0)) await settle(m, m.held);
  await check();
  const ttls = await harness.ttls?.();
  for (const [k, ttl] of ttls ?? []) {
    expect(ttl, `(c) TTL of ${k}`).toBeGreaterThan(0);
    expect(k.startsWith(`budget-hold:{${tenant}}`), `(c) marker ${k} outlived its reservation`).toBe(false);
    expect(k, "(c) a journal record outlived its reservation").not.toBe(openHoldsKey(tenant));
  }
}
