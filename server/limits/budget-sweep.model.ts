import { randomUUID } from "node:crypto";
import fc from "fast-check";
import { expect } from "vitest";
import { createLogCapture } from "../../test/support/log-capture.js";
import type { StateBackend } from "../store/state/state-backend.js";
import { faultyReserve, type Fault } from "./budget-reservation.contract.js";
import { counterKey, createBudgetReservations, openHoldsKey, type BudgetRef, type Reservation } from "./budget-reservation.js";
import { createHoldSweeper } from "./hold-sweeper.js";
import { createReplicaLease, replicaLeaseKey } from "./replica-lease.js";

/** One generated step of {@link runSweepModel}. */
export interface SweepOp {
  kind: "reserve" | "extend" | "settle" | "kill" | "revive" | "sweep";
  owner: number;
  key: number;
  amount: number;
  actual: number;
  target: number;
  /** Start a new concurrent wave before this step (kill, revive and sweep always run alone). */
  wave: boolean;
  faults: Fault[];
}

/** Random step sequences: three owners that die, come back and race a sweeper. */
export const sweepOpsArbitrary = fc.array(
  fc.record({
    kind: fc.constantFrom<SweepOp["kind"]>("reserve", "reserve", "extend", "settle", "settle", "kill", "revive", "sweep", "sweep"),
    owner: fc.integer({ min: 0, max: 2 }),
    key: fc.integer({ min: 0, max: 1 }),
    amount: fc.integer({ min: 0, max: 150 }),
    actual: fc.integer({ min: 0, max: 200 }),
    target: fc.nat(),
    wave: fc.boolean(),
    faults: fc.array(fc.constantFrom<Fault>("none", "none", "before", "after"), { maxLength: 2 }),
  }),
  { minLength: 1, maxLength: 30 },
);

interface Open {
  reservation: Reservation;
  owner: number;
  levels: string[];
  /** What the journal holds for it on each of its counters (0 once swept). */
  journaled: number;
  /** Whether it has a journal record (a swept hold has none until it is extended). */
  recorded: boolean;
}

const LONG = 3_600_000;

/**
 * Runs `steps` against the real reservations and sweeper over one state and against a plain
 * model, checking after every wave that each admission counter equals settled spend plus exactly
 * what the open journals hold — so it never drops below settled spend and no hold is released
 * twice (by a sweep and then its settle) or left behind — that a sweep releases exactly the holds
 * of dead owners, and at the end, once every owner is dead and swept, that every counter is back
 * to settled spend and the index is empty. `wrap` may reorder state calls (fc.scheduler).
 */
export async function runSweepModel(state: StateBackend, steps: SweepOp[], wrap: (s: StateBackend) => StateBackend = (s) => s): Promise<void> {
  const tenant = `org-${randomUUID()}`;
  const clock = { now: () => Date.parse("2026-11-29T12:00:00Z") };
  const caps: Record<string, number> = { org: 600, k0: 400, k1: 300 };
  const refs: Record<string, BudgetRef> = Object.fromEntries(Object.entries(caps).map(([id, cap]) => [id, { id, level: id === "org" ? "org" : "key", limitMicros: BigInt(cap), period: "total", tz: "UTC" } as BudgetRef]));
  const owners = ["r0", "r1", "r2"];
  const replicas = owners.map((owner) => createBudgetReservations({ state: faultyReserve(wrap(state), steps.flatMap((s) => s.faults)), clock, owner }));
  const logger = createLogCapture().logger;
  const sweeper = createHoldSweeper({ state: wrap(state), lease: createReplicaLease({ state, logger }, { id: "sweeper" }), tenants: () => [tenant], logger });
  const alive = new Set([0, 1, 2]);
  for (const owner of owners) await state.set(replicaLeaseKey(owner), new Uint8Array([1]), LONG);
  const spent: Record<string, number> = { org: 0, k0: 0, k1: 0 };
  let open: Open[] = [];
  let nextId = 0;

  const raw = async (id: string, suffix = ""): Promise<number> => {
    const value = await state.get(counterKey(tenant, { id }, "total") + suffix);
    return value === undefined ? 0 : Number(new TextDecoder().decode(value));
  };
  const journaledOn = (id: string) => open.filter((o) => o.levels.includes(id)).reduce((sum, o) => sum + o.journaled, 0);
  const check = async (when: string): Promise<void> => {
    for (const id of Object.keys(caps)) {
      expect(await raw(id, ":spent"), `${when}: spent on ${id}`).toBe(spent[id]);
      expect(await raw(id), `${when}: counter of ${id} = spent + journaled`).toBe(spent[id]! + journaledOn(id));
    }
  };
  const retry = async <T>(fn: () => Promise<T>): Promise<T> => {
    for (let i = 0; ; i++) {
      try {
        return await fn();
      } catch (err) {
        if (i > 20) throw err;
      }
    }
  };

  const run = async (op: SweepOp, available: Open[], single: boolean): Promise<void> => {
    if (op.kind === "reserve" || available.length === 0) {
      const levels = [`k${op.key}`, "org"];
      const fits = levels.every((l) => spent[l]! + journaledOn(l) + op.amount <= caps[l]!);
      const id = `r${nextId++}`;
      const outcome = await retry(() => replicas[op.owner]!.reserve({ tenant, budgets: levels.map((l) => refs[l]!), amountMicros: BigInt(op.amount), id }));
      if (single) expect(outcome.ok, `reserve ${op.amount} on ${levels.join(",")}`).toBe(fits);
      if (outcome.ok) open.push({ reservation: outcome.reservation, owner: op.owner, levels, journaled: op.amount, recorded: true });
      return;
    }
    const o = available.splice(op.target % available.length, 1)[0]!;
    if (op.kind === "extend") {
      const outcome = await retry(() => replicas[o.owner]!.extend(o.reservation, BigInt(op.amount)));
      if (outcome.ok) {
        o.journaled += op.amount;
        o.recorded = true;
      }
      return;
    }
    open = open.filter((x) => x !== o);
    await retry(() => replicas[o.owner]!.settle(o.reservation, BigInt(op.actual)));
    for (const l of o.levels) spent[l]! += op.actual;
  };

  const sweep = async (): Promise<void> => {
    const expected = open.filter((o) => !alive.has(o.owner) && o.recorded);
    const report = await sweeper.sweep();
    expect(report, "sweep releases exactly the dead owners' recorded holds").toEqual({ tenants: 1, released: expected.length, failed: 0 });
    for (const o of expected) {
      o.journaled = 0;
      o.recorded = false;
    }
  };

  const waves: SweepOp[][] = [];
  for (const op of steps) {
    const alone = op.kind === "kill" || op.kind === "revive" || op.kind === "sweep";
    if (alone || op.wave || waves.length === 0 || ["kill", "revive", "sweep"].includes(waves.at(-1)![0]!.kind)) waves.push([]);
    waves.at(-1)!.push(op);
  }
  for (const wave of waves) {
    const first = wave[0]!;
    if (first.kind === "kill") {
      alive.delete(first.owner);
      await state.delete(replicaLeaseKey(owners[first.owner]!));
    } else if (first.kind === "revive") {
      alive.add(first.owner);
      await state.set(replicaLeaseKey(owners[first.owner]!), new Uint8Array([1]), LONG);
    } else if (first.kind === "sweep") {
      await sweep();
    } else {
      const available = [...open];
      await Promise.all(wave.map((op) => run(op, available, wave.length === 1)));
    }
    await check(`after ${first.kind}`);
  }
  // Half the survivors settle; then every owner dies and one sweep takes back the rest.
  for (const o of open.splice(0, Math.ceil(open.length / 2))) {
    await retry(() => replicas[o.owner]!.settle(o.reservation, BigInt(o.journaled)));
    for (const l of o.levels) spent[l]! += o.journaled;
  }
  for (const owner of owners) await state.delete(replicaLeaseKey(owner));
  alive.clear();
  await sweep();
  open = [];
  await check("at the end");
  expect(await state.openHolds(openHoldsKey(tenant)), "index empty at the end").toEqual([]);
}
