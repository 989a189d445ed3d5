import type { ReleaseEntry, ReserveEntry, ReserveResult } from "./state-backend.js";

/**
 * Where {@link StateBackend.reserveHold} records what a hold added: one field per hold in a
 * per-tenant index (a Redis hash), so the hold can be taken back exactly — by its settle, or by
 * a sweep after its owner died — without trusting anyone's memory of the amounts.
 */
export interface HoldJournal {
  /** The index of open holds, under the counters' hash tag (e.g. `budget-open:{org_1}`). */
  index: string;
  /** The hold's field in the index (e.g. the reservation id). */
  member: string;
  /** Who will settle it (a replica id); a sweep releases holds whose owner is gone. */
  owner: string;
}

/** A journaled hold: a marker counter checked and added like a reserve entry, and the held counters. */
export interface JournaledHold {
  /** Counts the hold's steps (recognizes retries); checked first, never journaled. */
  marker: ReserveEntry;
  /** The counters held on; each amount is added to the journal under the entry's key. */
  counters: readonly ReserveEntry[];
  /**
   * Keys that must exist for the hold to be admitted (e.g. the counters' seed markers): when any
   * is absent, nothing is written and the outcome lists them (`missing`). Same hash tag.
   */
  requires?: readonly string[];
}

/**
 * Outcome of {@link StateBackend.reserveHold}: `reserve`'s, or, when keys of `requires` were
 * absent, their positions in it (checked before anything else; nothing was written).
 */
export type HoldResult = ReserveResult | { ok: false; missing: readonly number[] };

/**
 * Outcome of {@link StateBackend.settleHold}. When settled now, `counters` holds the value after
 * the step of every `add` and `replace` key (0 for an absent or removed counter), so a caller
 * needs no second read to see where the settle left them.
 */
export type SettledHold = { settled: false } | { settled: true; counters: ReadonlyMap<string, number> };

/** One open hold as its index records it. */
export interface OpenHold {
  member: string;
  owner: string;
  /** The amount held on each counter key: the sum of every journaled step. */
  held: ReadonlyMap<string, number>;
}

/** Input of {@link StateBackend.settleHold}. */
export interface HoldSettlement {
  /** The hold's marker: the step applies only while it exists, and deletes it. */
  marker: string;
  index: string;
  member: string;
  /** Added as they are (e.g. settled spend); an amount of 0 writes nothing. */
  add: readonly ReleaseEntry[];
  /**
   * Counters that end at `current + amount − journaled` (the journal's amount for the key, 0 when
   * the hold was swept): the hold is replaced by `amount`. At ≤ 0 the counter is removed.
   */
  replace: readonly ReleaseEntry[];
}

/** One hold {@link StateBackend.releaseHolds} should release. */
export interface HoldRelease {
  member: string;
  /** Released only if the journal still names this owner. */
  owner: string;
  /** The hold's marker, whose TTL is cut to the release's `markerTtlMs` when longer. */
  marker: string;
  /**
   * Every counter key the hold names (from {@link OpenHold.held}). A hold naming a key that none
   * of the call's holds lists is skipped (Redis Cluster: a script touches only declared keys).
   */
  keys: readonly string[];
}

/**
 * The journal's wire form in Redis (written by its Lua scripts): the owner, then key and amount
 * per counter, one per line (keys and owners are checked to hold no line break).
 */
export const holdRecord = {
  decode(member: string, raw: string): OpenHold {
    const [owner = "", ...rest] = raw.split("\n");
    const held = new Map<string, number>();
    for (let i = 0; i + 1 < rest.length; i += 2) held.set(rest[i]!, Number(rest[i + 1]));
    return { member, owner, held };
  },
};

/** Argument checks of the hold methods, shared by every backend. */
export const holdArguments = {
  journal(journal: HoldJournal): void {
    for (const [name, value] of [["index", journal.index], ["member", journal.member], ["owner", journal.owner]] as const) {
      if (value === "" || value.includes("\n")) throw new RangeError(`journal.${name} must be non-empty and on one line, got ${JSON.stringify(value)}`);
    }
  },
  keys(keys: readonly string[]): void {
    for (const key of keys) if (key === "" || key.includes("\n")) throw new RangeError(`a journaled key must be non-empty and on one line, got ${JSON.stringify(key)}`);
  },
};
