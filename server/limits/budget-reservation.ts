import { randomUUID } from "node:crypto";
import type { Clock } from "../clock.js";
import type { Mutable } from "../mutable.js";
import type { StateBackend } from "../store/state/state-backend.js";
import { createPeriodCalendar, type BudgetPeriodName, type Period, type PeriodCalendar } from "./periods.js";

/** The level of the hierarchy a budget caps (the proto's BudgetLevel, provider-neutral). */
export type BudgetLevelName = "org" | "team" | "key" | "tag";

/** A spend cap as the fast path needs it. */
export interface BudgetRef {
  /** Resource name (`orgs/{org}/budgets/{budget}`); part of the counter key. */
  id: string;
  level: BudgetLevelName;
  /** The cap per period, in micro-USD. */
  limitMicros: bigint;
  period: BudgetPeriodName;
  /** IANA time zone the period is aligned in. */
  tz: string;
  /**
   * Which counters count its spend (`BudgetRecord.counterEpoch`); absent: 0. Part of the counter
   * keys unless 0, so a budget whose period, time zone or target changed, or that was created
   * again under its name, starts on counters seeded from the ledger for what it now caps.
   */
  counterEpoch?: bigint;
}

/** Input of {@link BudgetReservations.reserve}. */
export interface ReserveRequest {
  /**
   * The org every budget belongs to. It is the Redis Cluster hash tag of all the request's
   * counters, so one atomic script can touch every level; it must not contain `{` or `}`.
   */
  tenant: string;
  /** Every budget that applies to the call (key, team, org, tags); duplicates count once. */
  budgets: readonly BudgetRef[];
  /** The call's worst-case cost (see `worstCaseMicros`). */
  amountMicros: bigint;
  /**
   * Idempotency id (default: random). After `reserve` rejected (timeout, disconnect), retrying
   * with the same id never holds twice: a reservation that did land is returned as admitted.
   */
  id?: string;
  /**
   * Counters must start from the ledger (P7): when given, the reserve's atomic step also requires
   * each budget's seed marker (`seedMarkerKey`) and admits nothing while one is missing; the
   * seeder then seeds those budgets and the step runs once more. Omitted: counters are used as
   * they are.
   */
  seeder?: CounterSeeder;
}

/** How a reservation gets its budgets' counters seeded from the ledger (`budget-seeder.ts`). */
export interface CounterSeeder {
  /** Keeps the lines' seed markers as long-lived as their counters (rarely a state call). */
  touch(tenant: string, lines: readonly ReservationLine[]): Promise<void>;
  /**
   * Adds the ledger's settled spend to the counters of each line whose seed marker is missing, and
   * sets the marker, in one atomic step per line, once across replicas.
   */
  seed(tenant: string, lines: readonly ReservationLine[]): Promise<void>;
}

/** One budget a reservation holds money on, for the period it was made in. */
export interface ReservationLine {
  readonly budget: BudgetRef;
  readonly period: Period;
}

/**
 * An admitted reservation. Single owner: the pipeline stage that made it extends and settles it;
 * the state lives in this handle, so copies must not be settled independently.
 */
export interface Reservation {
  readonly id: string;
  readonly tenant: string;
  readonly lines: readonly ReservationLine[];
  /** Micro-USD currently held on every line: the reserved amount plus successful extensions. */
  readonly heldMicros: bigint;
  /** True once settled or released; later settles are no-ops. */
  readonly settled: boolean;
  /**
   * When it was made: its lines' periods are this instant's, and so are the call's usage records'
   * (the usage stage stamps them with it), so a call that runs across a period's end counts in the
   * period it was reserved in — in the ledger as in the counters.
   */
  readonly at: Date;
}

/** Why a reservation or extension was refused: the first budget it would have exceeded. */
export interface BudgetRefusal {
  /** As in force at the refused hold (its `limitMicros` is this refusal's). */
  budget: BudgetRef;
  period: Period;
  limitMicros: bigint;
  /** Settled spend in the period, as the fast-path counters know it. */
  spentMicros: bigint;
  /** Held by requests in flight. */
  reservedMicros: bigint;
  /** What this request needed to hold. */
  requestedMicros: bigint;
}

/** A budget's counters right after a settle, as the settle step itself reported them. */
export interface SettledLine extends BudgetSnapshot {
  /**
   * The budget as in force at the reservation's latest hold (`extend`'s `inForce`): a cap changed
   * while the call ran is the one here, and the one its spend is judged against (soft alerts).
   */
  budget: BudgetRef;
}

/** Outcome of `reserve` and `extend`. */
export type ReserveOutcome = { ok: true; reservation: Reservation } | { ok: false; refusal: BudgetRefusal };

/** A budget's counters in one period. */
export interface BudgetSnapshot {
  period: Period;
  /** Settled spend. */
  spentMicros: bigint;
  /** Held by requests in flight (the counter minus the settled spend). */
  reservedMicros: bigint;
}

/** Dependencies of {@link createBudgetReservations}. */
export interface BudgetReservationsDeps {
  state: StateBackend;
  clock: Clock;
  /**
   * The replica id the holds' journal names as their owner (`createReplicaLease().id`); default:
   * a random id with no lease, whose holds a sweeper elsewhere would treat as a dead replica's.
   */
  owner?: string;
  /** Period arithmetic (default: a fresh calendar, which caches per zone). */
  calendar?: PeriodCalendar;
}

/** Options of {@link createBudgetReservations}. */
export interface BudgetReservationsOptions {
  /**
   * Added to a period's remaining length for its counters' TTL (default 1 h): covers requests
   * that settle after their period ended and clock skew between replicas.
   */
  slackMs?: number;
  /**
   * TTL of `total` counters, refreshed by every write (default 400 days). A total budget idle for
   * longer loses its fast-path counter and must be re-seeded from the ledger.
   */
  totalTtlMs?: number;
}

/** Reserve → extend → settle or release, on every level of the hierarchy at once. */
export interface BudgetReservations {
  /**
   * Holds `amountMicros` on every budget in one atomic step, or on none: admitted only if, for
   * each, settled spend + amounts held by requests in flight + this amount ≤ its cap (P1).
   * Rejects (does not refuse) when the state backend fails; the caller picks the degraded mode.
   */
  reserve(request: ReserveRequest): Promise<ReserveOutcome>;
  /**
   * Holds `moreMicros` more, atomically on every line, for a stream that outran its reservation;
   * refused when a cap would be exceeded (the stream then ends `budget_exhausted`). After a
   * rejection, retry with the same amount (or settle): an extension that did land is recognized,
   * not held twice. `inForce`: the budgets in force now; a line's budget among them (the same
   * counters) is checked against its cap as it is now — lowered since the reservation, the
   * extension is refused under the new cap — and a line's budget not among them keeps its cap.
   */
  extend(reservation: Reservation, moreMicros: bigint, inForce?: readonly BudgetRef[]): Promise<ReserveOutcome>;
  /**
   * Books the call's actual cost on every line and gives back the rest of the hold, in one atomic
   * step. When the actual exceeds the hold, the overage is added anyway, past the cap if need be:
   * the money was spent, and the next request is refused. Idempotent: settling a settled
   * reservation is a no-op, and after a rejection, calling it again (with the same actual)
   * finishes the job without counting anything twice — the step applies only while the
   * reservation's marker exists, and deletes it. Correct after a sweep released the hold too:
   * what is given back is what the journal still holds.
   *
   * Resolves every line's counters as the settle step left them, or `undefined` when this call
   * settled nothing (no budget, or already settled — also by an attempt whose reply was lost).
   */
  settle(reservation: Reservation, actualMicros: bigint): Promise<readonly SettledLine[] | undefined>;
  /** Gives the whole hold back (the call was never billed): `settle` with an actual of 0. */
  release(reservation: Reservation): Promise<void>;
  /** A budget's fast-path counters in the period containing `at` (default: now). */
  snapshot(tenant: string, budget: BudgetRef, at?: Date): Promise<BudgetSnapshot>;
}

/** Internal, mutable side of a {@link Reservation}. */
interface Handle {
  /**
   * What callers see; `heldMicros` and `settled` are kept on it as data properties, not getters
   * over this handle (see `Mutable`).
   */
  view: Mutable<Reservation>;
  lines: readonly (ReservationLine & { key: string; spentKey: string })[];
  /** Each line's budget as in force at the latest hold (`extend`'s `inForce`): the same counters, its cap perhaps changed. */
  budgets: BudgetRef[];
  marker: string;
  /** Holds that landed: the reservation plus each extension; the marker counts them. */
  holds: number;
  /** An extension whose call rejected, so its outcome is unknown; run again before anything else. */
  pending?: bigint;
}

/**
 * Where a {@link Reservation} keeps its mutable side. The handle carries everything needed to
 * finish it, so any instance over the same state can extend or settle it.
 */
const HANDLE = Symbol("budget reservation handle");


/**
 * The budget counters of the fast path (Redis, or in-process), over `StateBackend.reserveHold`
 * and `settleHold`. Redis is a cache of the Postgres ledger here, never the ledger (RELIABILITY P7).
 *
 * Per budget and period two counters, both under the tenant's hash tag:
 * `budget:{tenant}:<id>:<period>` (`<id>#<epoch>` once its counter epoch moved, see
 * `counterScopeOf`) holds settled spend plus every open hold — the only number admission compares
 * with the cap — and `…:spent` the settled spend alone, for reporting. A reservation's lines keep
 * the keys it was made with: a call in flight when its budget's period, time zone or target
 * changes settles into the counters it reserved on, not the new ones.
 * A reservation adds a marker `budget-hold:{tenant}:<reservation id>` in the same atomic step as
 * its holds; the marker counts the holds that landed and is how retries are recognized. It is
 * removed by the settle.
 *
 * Holds are journaled (issue #7/#11: a killed replica's holds were never given back, and a
 * `total` budget's counter lives 400 days). Each hold step — the reservation and every extension
 * — records, in the same atomic step, what it added to each counter, under the reservation's id
 * in the tenant's index `budget-open:{tenant}`, with its owner (this replica's id). The settle is
 * then one atomic step against that record: it adds the actual to every `:spent` counter, sets
 * every admission counter to `current + actual − journaled`, drops the record and deletes the
 * marker, so the release can no longer be lost between two steps, and a retry after a lost reply
 * finds no marker and does nothing. A sweeper (`hold-sweeper.ts`) releases the records of owners
 * whose lease lapsed, subtracting exactly what they journaled; a settle after that sweep finds no
 * record (journaled = 0) and adds only the actual. So the counter always equals seeded + settled
 * spend + the sum of the open records, whatever the interleaving of settle, extend and sweep:
 * nothing is released twice or left behind by a dead replica. The cost: a replica that stalls
 * past its lease has its holds released while its calls still run — a temporary over-admission
 * of those holds (their actual is still booked when they settle), never a double count.
 *
 * Every write sets the TTL of the keys it touches to the longest remaining period among the
 * reservation's budgets plus `slackMs` (`totalTtlMs` for total budgets), so a counter outlives
 * its period and no key is immortal (P6). A reservation is booked in the period it was made in,
 * even when it settles after that period ended.
 */
export function createBudgetReservations(deps: BudgetReservationsDeps, opts: BudgetReservationsOptions = {}): BudgetReservations {
  const slackMs = opts.slackMs ?? 3_600_000;
  const totalTtlMs = opts.totalTtlMs ?? 400 * 86_400_000;
  const calendar = deps.calendar ?? createPeriodCalendar();
  const { state } = deps;
  const owner = deps.owner ?? `unleased-${randomUUID()}`;

  const ttlFor = (lines: readonly ReservationLine[]): number => {
    const now = deps.clock.now();
    let ttl = slackMs;
    for (const { period } of lines) {
      ttl = Math.max(ttl, period.end === undefined ? totalTtlMs : period.end.getTime() - now + slackMs);
    }
    return Math.max(1, Math.ceil(ttl));
  };

  const handleOf = (reservation: Reservation): Handle => {
    const handle = (reservation as Reservation & { [HANDLE]?: Handle })[HANDLE];
    if (handle === undefined) throw new Error("not a reservation made by createBudgetReservations");
    return handle;
  };

  const refusal = async (handle: Handle, index: number, current: number, requested: bigint): Promise<ReserveOutcome> => {
    const line = handle.lines[index - 1];
    if (line === undefined) throw new Error(`budget reservation ${handle.view.id}: unexpected refusal at entry ${index}`);
    const spent = await readCounter(state, line.spentKey);
    const total = BigInt(current);
    const budget = handle.budgets[index - 1] ?? line.budget;
    return {
      ok: false,
      refusal: {
        budget,
        period: line.period,
        limitMicros: budget.limitMicros,
        spentMicros: spent,
        reservedMicros: total > spent ? total - spent : 0n,
        requestedMicros: requested,
      },
    };
  };

  /**
   * One hold (the reservation, or an extension): marker + amount on every line, all or nothing,
   * journaled. With `requires`, nothing is held while one of those keys is missing: then resolves
   * the positions of the missing ones.
   */
  // The holds below chain promises (`.then`) rather than `await`: no suspended frame per
  // reservation while its round trip is out (`after-call.ts`); each stays `async`, so a bad
  // argument still rejects rather than throws.
  const hold = async (handle: Handle, amount: bigint, sequence: number, requires?: readonly string[]): Promise<ReserveOutcome | { missing: readonly number[] }> => {
    const micros = safe(amount, "amountMicros");
    const held = state.reserveHold(
      {
        marker: { key: handle.marker, amount: 1, limit: sequence },
        counters: handle.lines.map((line, i) => ({ key: line.key, amount: micros, limit: capOf((handle.budgets[i] ?? line.budget).limitMicros) })),
        ...(requires === undefined ? {} : { requires }),
      },
      { index: openHoldsKey(handle.view.tenant), member: handle.view.id, owner },
      ttlFor(handle.lines),
    );
    return held.then((result): ReserveOutcome | Promise<ReserveOutcome> | { missing: readonly number[] } => {
      if ("missing" in result) return { missing: result.missing };
      if (!result.ok && result.index === 0) {
        // The marker already counts this hold: an earlier attempt whose reply was lost landed.
        if (result.current !== sequence) {
          throw new Error(`budget reservation ${handle.view.id}: marker at ${result.current}, expected ${sequence} (reused id or already settled)`);
        }
      } else if (!result.ok) {
        return refusal(handle, result.index, result.current, amount);
      }
      handle.view.heldMicros += amount;
      handle.holds = sequence;
      return { ok: true, reservation: handle.view };
    });
  };

  /** A hold that requires no key. */
  const plainHold = (handle: Handle, amount: bigint, sequence: number): Promise<ReserveOutcome> =>
    hold(handle, amount, sequence).then((outcome) => {
      if ("missing" in outcome) throw new Error(`budget reservation ${handle.view.id}: a hold without required keys reported missing ones`);
      return outcome;
    });

  /**
   * Runs the pending extension. After a rejection the same call runs again with the same marker
   * sequence, so an attempt that did land is recognized instead of held twice.
   */
  const runPending = (handle: Handle, amount: bigint): Promise<ReserveOutcome> => {
    handle.pending = amount;
    return plainHold(handle, amount, handle.holds + 1).then((outcome) => {
      handle.pending = undefined;
      return outcome;
    });
  };

  /**
   * The first hold, requiring each line's seed marker: when some are missing, `seeder` seeds
   * those lines and the hold runs once more (it wrote nothing, so the same id and sequence).
   */
  const seededHold = async (handle: Handle, amount: bigint, seeder: CounterSeeder): Promise<ReserveOutcome> => {
    const markers = handle.lines.map((line) => seedMarkerKey(handle.view.tenant, line.budget, line.period.key));
    const again = () =>
      hold(handle, amount, 1, markers).then((second) => {
        if ("missing" in second) throw new Error(`budget reservation ${handle.view.id}: counters still unseeded after seeding (state lost again?)`);
        return second;
      });
    return seeder
      .touch(handle.view.tenant, handle.lines)
      .then(() => hold(handle, amount, 1, markers))
      .then((first) => ("missing" in first ? seeder.seed(handle.view.tenant, first.missing.map((position) => handle.lines[position]!)).then(again) : first));
  };

  const settle = async (reservation: Reservation, actualMicros: bigint): Promise<readonly SettledLine[] | undefined> => {
    const handle = handleOf(reservation);
    if (handle.view.settled) return undefined;
    if (actualMicros < 0n) throw new RangeError(`actualMicros must not be negative, got ${actualMicros}`);
    if (handle.lines.length === 0) {
      handle.view.settled = true;
      return undefined;
    }
    // An extension whose outcome is unknown runs again first, so it can no longer land later.
    if (handle.pending !== undefined) await runPending(handle, handle.pending);
    const actual = safe(actualMicros, "actualMicros");
    const settled = state.settleHold(
      {
        marker: handle.marker,
        index: openHoldsKey(handle.view.tenant),
        member: handle.view.id,
        add: handle.lines.map((line) => ({ key: line.spentKey, amount: actual })),
        replace: handle.lines.map((line) => ({ key: line.key, amount: actual })),
      },
      ttlFor(handle.lines),
    );
    return settled.then((result) => {
      handle.view.settled = true;
      if (!result.settled) return undefined;
      return handle.lines.map((line, i) => {
        const total = BigInt(result.counters.get(line.key) ?? 0);
        const spent = BigInt(result.counters.get(line.spentKey) ?? 0);
        return { budget: handle.budgets[i] ?? line.budget, period: line.period, spentMicros: spent, reservedMicros: total > spent ? total - spent : 0n };
      });
    });
  };

  return {
    async reserve(request) {
      if (/[{}]/.test(request.tenant) || request.tenant === "") {
        throw new RangeError(`tenant must be non-empty and free of braces, got "${request.tenant}"`);
      }
      const id = request.id ?? randomUUID();
      const at = new Date(deps.clock.now());
      const unique = [...new Map(request.budgets.map((budget) => [budget.id, budget])).values()];
      const lines = unique.map((budget) => {
        const period = calendar.periodOf(budget.period, budget.tz, at);
        const key = counterKey(request.tenant, budget, period.key);
        return Object.freeze({ budget, period, key, spentKey: `${key}:spent` });
      });
      const handle: Handle = {
        view: {
          id,
          tenant: request.tenant,
          lines: Object.freeze(lines.map(({ budget, period }) => Object.freeze({ budget, period }))),
          heldMicros: 0n,
          settled: false,
          at,
        },
        lines,
        budgets: lines.map((line) => line.budget),
        marker: holdMarkerKey(request.tenant, id),
        holds: 0,
      };
      // Non-enumerable: invisible to logs, spreads and equality checks.
      Object.defineProperty(handle.view, HANDLE, { value: handle });
      if (lines.length === 0) {
        handle.view.heldMicros = request.amountMicros;
        return { ok: true, reservation: handle.view };
      }
      return request.seeder === undefined ? plainHold(handle, request.amountMicros, 1) : seededHold(handle, request.amountMicros, request.seeder);
    },

    async extend(reservation, moreMicros, inForce) {
      const handle = handleOf(reservation);
      if (handle.view.settled) throw new Error(`budget reservation ${handle.view.id} is already settled`);
      if (moreMicros < 0n) throw new RangeError(`moreMicros must not be negative, got ${moreMicros}`);
      if (handle.lines.length === 0) {
        handle.view.heldMicros += moreMicros;
        return { ok: true, reservation };
      }
      if (handle.pending !== undefined && handle.pending !== moreMicros) {
        throw new Error(`budget reservation ${handle.view.id}: an extension of ${handle.pending} µ$ is unresolved; retry it first`);
      }
      // Only for an extension that is made: one refused as an argument changes nothing.
      if (inForce !== undefined) takeInForce(handle, inForce);
      return runPending(handle, moreMicros);
    },

    settle,

    async release(reservation) {
      await settle(reservation, 0n);
    },

    async snapshot(tenant, budget, at) {
      const period = calendar.periodOf(budget.period, budget.tz, at ?? new Date(deps.clock.now()));
      const key = counterKey(tenant, budget, period.key);
      const [total, spent] = await Promise.all([readCounter(state, key), readCounter(state, `${key}:spent`)]);
      return { period, spentMicros: spent, reservedMicros: total > spent ? total - spent : 0n };
    },
  };
}

/**
 * Each line's budget as `inForce` has it now, when among them: the same counters (id and counter
 * epoch, as `counterScopeOf` names them); a line's budget not among them stays as it was. A
 * nested loop over the few budgets of a call, not a map keyed by `counterScopeOf`: an extension
 * builds no map and no strings.
 */
function takeInForce(handle: Handle, inForce: readonly BudgetRef[]): void {
  for (let i = 0; i < handle.lines.length; i++) {
    const { id, counterEpoch = 0n } = handle.lines[i]!.budget;
    // The last match wins, as when `reserve` drops duplicates.
    for (const now of inForce) if (now.id === id && (now.counterEpoch ?? 0n) === counterEpoch) handle.budgets[i] = now;
  }
}

/** The marker of reservation `id`: counts its holds; its settle applies only while it exists. */
export function holdMarkerKey(tenant: string, id: string): string {
  return `budget-hold:{${tenant}}:${id}`;
}

/** The tenant's index of open, journaled holds (reservation id → owner and amounts held). */
export function openHoldsKey(tenant: string): string {
  return `budget-open:{${tenant}}`;
}

/**
 * What names a budget's counters (and its alert markers): its id, then `#<epoch>` unless its
 * counter epoch is 0 — so a budget never changed in its period, time zone or target keeps the
 * keys it had before epochs existed, and replicas of either version share them.
 */
export function counterScopeOf(budget: Pick<BudgetRef, "id" | "counterEpoch">): string {
  const epoch = budget.counterEpoch ?? 0n;
  return epoch === 0n ? budget.id : `${budget.id}#${epoch}`;
}

/** Set, with the ledger's spend added to its counters, when a budget's period was seeded (`budget-seeder.ts`). */
export function seedMarkerKey(tenant: string, budget: Pick<BudgetRef, "id" | "counterEpoch">, periodKey: string): string {
  return `budget-seed:{${tenant}}:${counterScopeOf(budget)}:${periodKey}`;
}

/** The admission counter of one budget in one period. */
export function counterKey(tenant: string, budget: Pick<BudgetRef, "id" | "counterEpoch">, periodKey: string): string {
  return `budget:{${tenant}}:${counterScopeOf(budget)}:${periodKey}`;
}

async function readCounter(state: StateBackend, key: string): Promise<bigint> {
  const raw = await state.get(key);
  return raw === undefined ? 0n : BigInt(new TextDecoder().decode(raw));
}

/**
 * A budget's cap as the safe integer the state backend compares with. A cap beyond 2^53 − 1 µ$
 * (CreateBudget takes any positive int64, e.g. its maximum as "unlimited") is counted against
 * 2^53 − 1 instead of failing every call under it: no counter of safe-integer amounts gets there.
 */
function capOf(limitMicros: bigint): number {
  return limitMicros > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : safe(limitMicros, "limitMicros");
}

/** A micro-USD amount as the safe integer the state backend computes with. */
function safe(micros: bigint, name: string): number {
  if (micros < 0n || micros > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new RangeError(`${name} must be between 0 and 2^53 − 1 micro-USD, got ${micros}`);
  }
  return Number(micros);
}
