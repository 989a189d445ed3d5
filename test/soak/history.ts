/**
 * The soak's history, Jepsen style: each client operation is an `invoke` followed by exactly one
 * completion — `ok`, `fail` (the gateway answered with an error: the outcome is known) or `info`
 * (a reset, a timeout, a kill, a client abort: the outcome is unknown, so it may or may not have
 * been billed). Checkers read the completed operations after quiescence.
 */

/** Which front door and shape an operation used. */
export type OpKind = "chat" | "stream" | "openai" | "openai_stream";

/** Which key an operation used: the general app key, the small-budget key (P1) or the RPM-limited key (P5). */
export type KeyRole = "app" | "capped" | "rpm";

/** One event of the history. */
export interface HistoryEvent {
  /** The client worker ("process" in Jepsen's sense). */
  process: number;
  type: "invoke" | "ok" | "fail" | "info";
  /** Sent as `x-request-id`; the ledger's `request_id`; also the prompt's `[op:…]` tag. */
  request_id: string;
  kind: OpKind;
  key: KeyRole;
  replica: number;
  /** The op fault the prompt asked for, if any. */
  fault?: string;
  /** The client aborted this operation on purpose. */
  aborted?: boolean;
  t_start: number;
  t_end?: number;
  /** Canonical code name (`ok`, `unavailable`, …), `transport` or `client_abort`. */
  code?: string;
  /** Output tokens the gateway reported (ok operations). */
  tokens?: number;
  /** Answer bytes received. */
  bytes?: number;
  /** The answer text received (streams: every delta, in order). */
  text?: string;
  /** Streams: how the stream ended — a success terminator, an error event or trailer, or neither. */
  terminal?: "completed" | "error" | "none";
  /** Detail type names of an error (`BudgetExceeded`, `RateLimitExceeded`, …). */
  details?: string[];
  /** Error message (for the report). */
  message?: string;
}

/** A completed operation: its invoke and completion merged. */
export type Op = HistoryEvent & { type: "ok" | "fail" | "info"; t_end: number };

/** Collects the history in memory (and lets the runner write it out as JSON lines). */
export interface History {
  invoke(e: Omit<HistoryEvent, "type">): void;
  complete(e: Op): void;
  events(): HistoryEvent[];
  /** Completed operations. */
  ops(): Op[];
  /** Invoked operations that never completed (must be none after quiescence). */
  open(): HistoryEvent[];
}

/** Creates an empty {@link History}. */
export function createHistory(): History {
  const events: HistoryEvent[] = [];
  const ops: Op[] = [];
  const open = new Map<string, HistoryEvent>();
  return {
    invoke(e) {
      const ev: HistoryEvent = { ...e, type: "invoke" };
      events.push(ev);
      open.set(e.request_id, ev);
    },
    complete(e) {
      events.push(e);
      ops.push(e);
      open.delete(e.request_id);
    },
    events: () => events,
    ops: () => ops,
    open: () => [...open.values()],
  };
}
