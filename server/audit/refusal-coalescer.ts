import { addressGroup } from "../auth/address-group.js";
import type { AuditRecord } from "./audit-log.js";

/** The action of the summary event of an address's unauthenticated calls beyond those recorded one by one. */
export const COALESCED_ACTION = "switchboard.audit/UnauthenticatedCalls";

/** Options of {@link createRefusalCoalescer}. */
export interface RefusalCoalescerOptions {
  /** Unauthenticated calls of one address recorded one by one per window; the rest are counted. */
  perAddress: number;
  /** The window (ms): an address's count starts anew this long after its first call. */
  windowMs: number;
  /** Addresses tracked at most; beyond, the one whose window started first is summarised early. */
  maxAddresses: number;
}

/**
 * Decides which unauthenticated calls the audit log records one by one. A call that presented no
 * valid key has no actor and no org: what it tells an auditor is where it came from, when, and how
 * often — and a flood of random keys must not turn into one database write (each a link of the
 * one hash chain every replica appends to, serialised) per call. So per client address (IPv6 by
 * /64, as the unknown-key throttle counts), the first `perAddress` in a window are recorded in
 * full, and the rest are counted into one summary event for the address and window, written when
 * the window ends: `{calls, firstTime, lastTime, actions, codes}`. Calls by an authenticated
 * caller are never coalesced: each names who did what; nor are those whose secret matched a key
 * (revoked, expired, rotated out: `after.matchedKey`), the ones an auditor looks for — a flood of
 * guesses cannot hide a leaked or revoked key being tried. Memory: at most `maxAddresses` windows
 * of a few hundred bytes and a few short actions each.
 */
export interface RefusalCoalescer {
  /** Whether `record` is to be recorded now (true), or was counted into its address's summary (false). */
  admit(record: AuditRecord, now: number): boolean;
  /** The summaries of windows that ended by `now` (all that count a call when `all`), forgotten once returned. */
  due(now: number, all?: boolean): AuditRecord[];
  /** When the earliest window that counts a call ends; undefined when none does. */
  nextDue(): number | undefined;
}

interface Window {
  start: number;
  recorded: number;
  counted: number;
  first: number;
  last: number;
  actions: Set<string>;
  codes: Set<string>;
  peer: string;
}

/** At most this many distinct actions and codes are listed in a summary. */
const LISTED = 10;
/**
 * Characters of an action kept in a summary: the OpenAI surface's is `METHOD path`, and a path is
 * the caller's to make long (`GET /v1/models/<16 KB>`); cut, a window holds at most ~2 KB of them.
 */
const ACTION_CHARS = 160;

/** An unauthenticated call that presented a real key (revoked, expired, rotated out): recorded each time. */
function matchedKey(record: AuditRecord): boolean {
  const after = record.after;
  return typeof after === "object" && after !== null && !Array.isArray(after) && after.matchedKey === true;
}

/** Creates a {@link RefusalCoalescer}. */
export function createRefusalCoalescer(opts: RefusalCoalescerOptions): RefusalCoalescer {
  // Insertion order is window start order: a window is re-inserted when it starts anew.
  const windows = new Map<string, Window>();
  const ready: AuditRecord[] = [];
  const close = (group: string, w: Window) => {
    windows.delete(group);
    if (w.counted > 0) ready.push(summary(w));
  };
  const ended = (w: Window, now: number) => now - w.start >= opts.windowMs || now < w.start;
  return {
    admit(record, now) {
      if (record.actor !== "" || record.actorOrgId !== null || matchedKey(record)) return true;
      const group = addressGroup(record.peer === "" ? "unknown" : record.peer);
      let w = windows.get(group);
      if (w !== undefined && ended(w, now)) {
        close(group, w);
        w = undefined;
      }
      if (w === undefined) {
        w = { start: now, recorded: 0, counted: 0, first: now, last: now, actions: new Set(), codes: new Set(), peer: record.peer };
        windows.set(group, w);
        if (windows.size > opts.maxAddresses) {
          const [oldest, ow] = windows.entries().next().value!;
          close(oldest, ow);
        }
      }
      if (w.recorded < opts.perAddress) {
        w.recorded++;
        return true;
      }
      if (w.counted === 0) w.first = now;
      w.counted++;
      w.last = now;
      if (w.actions.size < LISTED) w.actions.add(record.action.length > ACTION_CHARS ? `${record.action.slice(0, ACTION_CHARS)}…` : record.action);
      if (w.codes.size < LISTED) w.codes.add(record.code);
      return false;
    },
    due(now, all = false) {
      for (const [group, w] of windows) {
        if (all || ended(w, now)) close(group, w);
        else if (w.start <= now) break;
      }
      return ready.splice(0);
    },
    nextDue() {
      if (ready.length > 0) return 0;
      for (const w of windows.values()) if (w.counted > 0) return w.start + opts.windowMs;
      return undefined;
    },
  };
}

function summary(w: Window): AuditRecord {
  return {
    actor: "",
    actorOrg: "",
    actorOrgId: null,
    action: COALESCED_ACTION,
    resource: "",
    before: null,
    after: { calls: w.counted, firstTime: new Date(w.first).toISOString(), lastTime: new Date(w.last).toISOString(), actions: [...w.actions].sort(), codes: [...w.codes].sort() },
    outcome: "denied",
    code: w.codes.size === 1 ? [...w.codes][0]! : "mixed",
    peer: w.peer,
    requestId: "",
    org: null,
  };
}
