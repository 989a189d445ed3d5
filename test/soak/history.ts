import { closeSync, openSync, writeSync } from "node:fs";

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

/** Options of {@link createHistory}. */
export interface HistoryOptions {
  /**
   * Each event is appended here as one JSON line as it happens (Jepsen's history: invokes and
   * completions) instead of being kept: a long run's events do not fit in memory twice.
   */
  file?: string;
  /** Sees each completed operation with its answer text, which the history then drops. */
  onComplete?: (op: Op) => void;
}

/** Collects the operations for the checkers, and the events as JSON lines. */
export interface History {
  invoke(e: Omit<HistoryEvent, "type">): void;
  complete(e: Op): void;
  /** Completed operations, without their answer text (`onComplete` saw it). */
  ops(): Op[];
  /** Invoked operations that never completed (must be none after quiescence). */
  open(): HistoryEvent[];
  /** Flushes and closes the events file. */
  close(): void;
}

/** Creates an empty {@link History}. */
export function createHistory(opts: HistoryOptions = {}): History {
  const ops: Op[] = [];
  const open = new Map<string, HistoryEvent>();
  const fd = opts.file === undefined ? undefined : openSync(opts.file, "w");
  const write = (e: HistoryEvent): void => {
    if (fd !== undefined) writeSync(fd, `${JSON.stringify(e)}\n`);
  };
  return {
    invoke(e) {
      const ev: HistoryEvent = { ...e, type: "invoke" };
      write(ev);
      open.set(e.request_id, ev);
    },
    complete(e) {
      write(e);
      opts.onComplete?.(e);
      const { text: _text, ...kept } = e;
      ops.push(kept);
      open.delete(e.request_id);
    },
    ops: () => ops,
    open: () => [...open.values()],
    close() {
      if (fd !== undefined) closeSync(fd);
    },
  };
}
