import { hostname } from "node:os";
import type { Kysely } from "kysely";
import { systemClock, type Clock } from "../clock.js";
import type { Logger } from "../observability/logger.js";
import { createAuditStore, type AppendInput, type AuditEvent, type AuditStore } from "../store/audit-store.js";
import type { Database } from "../store/schema.js";
import { storableCopy } from "../store/storable-text.js";
import { chainHash } from "./chain.js";
import { scrubJson } from "./mask.js";
import { createRefusalCoalescer } from "./refusal-coalescer.js";
import { verifyChain, type ChainVerdict } from "./verify.js";

/** Dependencies of {@link createAuditLog}. */
export interface AuditLogDeps {
  db: Kysely<Database>;
  logger: Logger;
  clock?: Clock;
}

/** Options of {@link createAuditLog}. */
export interface AuditLogOptions {
  /** Names this process in every event it writes (default `host/pid`). */
  replica?: string;
  /**
   * Events {@link AuditLog.appendLater} holds at most (default 1 000). Beyond it, events are
   * counted instead, and one summary event records how many were dropped, so a flood of bad keys
   * can neither grow memory nor queue unbounded database writes.
   */
  maxPending?: number;
  /**
   * Unauthenticated calls (no valid key: no actor) of one client address recorded one by one per
   * minute (default 10); the rest of that minute's are counted into one summary event for the
   * address (`refusal-coalescer.ts`), so a flood of bad keys costs the chain a few writes a minute
   * per address, not one per call.
   */
  unauthenticatedPerAddress?: number;
}

/** One event to record: the draft and the resource's org (see `AppendInput`). */
export type AuditRecord = Omit<AppendInput, "replica">;

/** The action of the summary event written when refused calls came faster than they could be recorded. */
export const DROPPED_ACTION = "switchboard.audit/DroppedEvents";

/**
 * The audit log of one replica. Appends from every replica form one linear hash chain in
 * Postgres (see `AuditStore.append`).
 */
export interface AuditLog {
  readonly store: AuditStore;
  /** Appends now and resolves with the stored event; rejects (after logging the event) if it cannot. */
  append(record: AuditRecord): Promise<AuditEvent>;
  /**
   * Appends in the background, in order, without making the caller wait: for refused and failed
   * calls (authentication failures, permission denials, errors), whose callers gain nothing by
   * waiting and must not be able to stall the log. Bounded by `maxPending`.
   */
  appendLater(record: AuditRecord): void;
  /** Resolves once every background append has been written (shutdown, tests). */
  drain(): Promise<void>;
  /** Recomputes the chain (see `verifyChain`). */
  verify(first?: bigint, last?: bigint): Promise<ChainVerdict>;
}

/** Creates the {@link AuditLog}. */
export function createAuditLog(deps: AuditLogDeps, opts: AuditLogOptions = {}): AuditLog {
  const store = createAuditStore(deps.db);
  const clock = deps.clock ?? systemClock;
  const replica = opts.replica ?? `${hostname()}/${process.pid}`;
  const maxPending = opts.maxPending ?? 1_000;
  const queue: AuditRecord[] = [];
  const coalescer = createRefusalCoalescer({ perAddress: opts.unauthenticatedPerAddress ?? 10, windowMs: 60_000, maxAddresses: 10_000 });
  let summaryTimer: NodeJS.Timeout | undefined;
  let dropped: { count: number; first: Date; last: Date; actions: Set<string> } | undefined;
  let pumping: Promise<void> | undefined;

  const append = async (record: AuditRecord): Promise<AuditEvent> => {
    try {
      return await store.append({ ...storable(record), replica }, () => new Date(clock.now()), chainHash);
    } catch (err) {
      // Masked already: the event itself may be logged, so it is not lost without a trace.
      deps.logger.error({ err, audit: { ...record, replica } }, "audit append failed");
      throw err;
    }
  };

  const pump = async (): Promise<void> => {
    for (;;) {
      const next = queue.shift();
      if (next === undefined) {
        if (dropped === undefined) return;
        queue.push(droppedSummary(dropped));
        dropped = undefined;
        continue;
      }
      await append(next).catch(() => undefined);
    }
  };

  const kick = (): void => {
    if (pumping !== undefined) return;
    pumping = pump().finally(() => {
      pumping = undefined;
      // Something queued between the pump's last look and now: go again.
      if (queue.length > 0 || dropped !== undefined) kick();
    });
  };

  const enqueue = (record: AuditRecord): void => {
    if (queue.length >= maxPending) {
      const at = new Date(clock.now());
      dropped ??= { count: 0, first: at, last: at, actions: new Set() };
      dropped.count++;
      dropped.last = at;
      if (dropped.actions.size < 20) dropped.actions.add(record.action);
      return;
    }
    queue.push(record);
    kick();
  };

  const flushSummaries = (all: boolean): void => {
    for (const record of coalescer.due(clock.now(), all)) enqueue(record);
  };

  /** One unref'd timer while some address's summary is pending: it is written when its window ends. */
  const scheduleSummaries = (): void => {
    if (summaryTimer !== undefined) return;
    const at = coalescer.nextDue();
    if (at === undefined) return;
    summaryTimer = setTimeout(
      () => {
        summaryTimer = undefined;
        flushSummaries(false);
        scheduleSummaries();
      },
      Math.max(0, at - clock.now()),
    );
    summaryTimer.unref();
  };

  return {
    store,
    append,
    appendLater(record) {
      if (!coalescer.admit(record, clock.now())) {
        scheduleSummaries();
        return;
      }
      flushSummaries(false);
      enqueue(record);
    },
    async drain() {
      // Every pending summary too, its window cut short (shutdown, tests).
      flushSummaries(true);
      while (pumping !== undefined) await pumping;
    },
    verify: (first, last) => verifyChain(store, first, last),
  };
}

/**
 * `record` as Postgres stores it: text fields and the before/after JSON without NUL or unpaired
 * surrogates (a resource name comes straight from the request, and is cut at a length that may
 * split a pair), so the event is neither refused nor stored other than as it was hashed.
 */
function storable(record: AuditRecord): AuditRecord {
  return {
    ...record,
    actor: storableCopy(record.actor),
    actorOrg: storableCopy(record.actorOrg),
    action: storableCopy(record.action),
    resource: storableCopy(record.resource),
    before: record.before === null ? null : scrubJson(record.before),
    after: record.after === null ? null : scrubJson(record.after),
    code: storableCopy(record.code),
    peer: storableCopy(record.peer),
    requestId: storableCopy(record.requestId),
  };
}

function droppedSummary(dropped: { count: number; first: Date; last: Date; actions: Set<string> }): AuditRecord {
  return {
    actor: "",
    actorOrg: "",
    actorOrgId: null,
    action: DROPPED_ACTION,
    resource: "",
    before: null,
    after: { dropped: dropped.count, firstTime: dropped.first.toISOString(), lastTime: dropped.last.toISOString(), actions: [...dropped.actions].sort() },
    outcome: "denied",
    code: "resource_exhausted",
    peer: "",
    requestId: "",
    org: null,
  };
}
