import { create } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { AttemptOutcome, AttemptSchema, type Attempt } from "../../gen/ts/switchboard/v1/common_pb.js";
import type { Mutable } from "../mutable.js";
import type { TokenUsage } from "../providers/model.js";
import type { AttemptOutcomeName } from "./retryable.js";

/** One call (or skipped call) to one target, as it is billed, logged and reported. */
export interface AttemptRecord {
  /** 1-based position within the request, in start order, across retries, fallbacks and hedges. */
  index: number;
  /** Index of the target within the route's target list. */
  targetIndex: number;
  provider: string;
  model: string;
  outcome: AttemptOutcomeName;
  /** From sending (or skipping) to the end of the attempt. */
  latencyMs: number;
  /** Streams that produced content: from sending to the first content chunk. */
  timeToFirstTokenMs?: number;
  /** Provider-reported usage; estimated (or zero when nothing was billed) for failures. */
  usage: TokenUsage;
  /** The provider's HTTP status, when it answered. */
  httpStatus?: number;
  /** A caller-safe description of the failure. */
  error?: string;
  /** Whether this attempt was a hedged twin of an earlier one. */
  hedged: boolean;
  /**
   * An attempt of the embedding call a semantic-cache lookup made for this call (billed with it,
   * and before its own attempts), not an attempt at answering it: retries and fallbacks are
   * counted within each call, and the answer's tokens are never this attempt's.
   */
  semanticLookup?: true;
}

/** The attempts that tried to answer the call: `attempts` without a semantic lookup's ({@link AttemptRecord.semanticLookup}). */
export function answerAttempts(attempts: readonly AttemptRecord[]): readonly AttemptRecord[] {
  return attempts.some((a) => a.semanticLookup === true) ? attempts.filter((a) => a.semanticLookup !== true) : attempts;
}

/** Whether `b` follows `a` within the same model call (a move from one to the other is a retry or a fallback). */
export function sameCall(a: AttemptRecord, b: AttemptRecord): boolean {
  return a.semanticLookup === b.semanticLookup;
}

/**
 * Retries (same target again) and fallbacks (another target), hedged twins excluded, as Usage
 * counts them: within one call (a semantic lookup's embedding attempts are a call of their own).
 */
export function moves(attempts: readonly AttemptRecord[]): { retries: number; fallbacks: number } {
  let retries = 0;
  let fallbacks = 0;
  for (let i = 1; i < attempts.length; i++) {
    const a = attempts[i];
    const before = attempts[i - 1];
    if (a === undefined || a.hedged || before === undefined || !sameCall(before, a)) continue;
    if (a.targetIndex === before.targetIndex) retries++;
    else fallbacks++;
  }
  return { retries, fallbacks };
}

/** What an attempt is, known when it starts. */
export type AttemptStart = Pick<AttemptRecord, "targetIndex" | "provider" | "model" | "hedged">;

/** What an attempt showed, known when it ends. */
export type AttemptEnd = Omit<AttemptRecord, keyof AttemptStart | "index">;

/** A started attempt; it is recorded once, by the first `finish`. */
export interface AttemptHandle {
  readonly index: number;
  readonly finished: boolean;
  /** Extra headers for the provider request (trace context), from the {@link AttemptObserver}. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Records the attempt; returns false (and records nothing) if it was already finished. */
  finish(end: AttemptEnd): boolean;
}

/**
 * Told of each attempt of one request as it starts and once as it ends (tracing: a span per
 * attempt). Injected through `DispatchOptions.observer`, so dispatch never imports a tracer.
 */
export interface AttemptObserver {
  /** The attempt starts (or is skipped as `circuit_open`); returns what to send with it and how to hear its end. */
  started(start: AttemptStart & { index: number }): ObservedAttempt;
}

/** What an {@link AttemptObserver} gives a started attempt. */
export interface ObservedAttempt {
  /** Headers to add to the provider request (the adapter's own headers win). */
  headers?: Readonly<Record<string, string>>;
  /** The attempt's record, once. */
  ended(record: AttemptRecord): void;
}

/**
 * The attempts of one request. Indexes are handed out when attempts start, so concurrent
 * (hedged) attempts get distinct ones; each attempt is recorded exactly once.
 */
export interface AttemptLog {
  begin(start: AttemptStart): AttemptHandle;
  /** The finished attempts so far, in index order (a copy). */
  records(): AttemptRecord[];
}

/** Creates an empty attempt log; `observer` hears of every attempt. */
export function createAttemptLog(observer?: AttemptObserver): AttemptLog {
  let next = 1;
  const done: AttemptRecord[] = [];
  return {
    begin(start) {
      const index = next++;
      const observed = observer?.started({ index, ...start });
      // `finished` is a data property `finish` sets, not a getter (see `Mutable`).
      const handle: Mutable<AttemptHandle> = {
        index,
        finished: false,
        ...(observed?.headers === undefined ? {} : { headers: observed.headers }),
        finish(end) {
          if (handle.finished) return false;
          handle.finished = true;
          const record: AttemptRecord = { index, ...start, ...end };
          done.push(record);
          done.sort((a, b) => a.index - b.index);
          observed?.ended({ ...record, usage: { ...record.usage } });
          return true;
        },
      };
      return handle;
    },
    records: () => done.map((r) => ({ ...r, usage: { ...r.usage } })),
  };
}

/** An attempt's outcome name (as the ledger stores it) → its proto enum. */
export const ATTEMPT_OUTCOME: Readonly<Record<AttemptOutcomeName, AttemptOutcome>> = {
  success: AttemptOutcome.SUCCESS,
  rate_limited: AttemptOutcome.RATE_LIMITED,
  unavailable: AttemptOutcome.UNAVAILABLE,
  timeout: AttemptOutcome.TIMEOUT,
  connection_error: AttemptOutcome.CONNECTION_ERROR,
  rejected: AttemptOutcome.REJECTED,
  auth_error: AttemptOutcome.AUTH_ERROR,
  circuit_open: AttemptOutcome.CIRCUIT_OPEN,
  cancelled: AttemptOutcome.CANCELLED,
  stream_error: AttemptOutcome.STREAM_ERROR,
};

/** The proto `Attempt` of a record (for `Usage.attempts` and the `ProviderAttempts` detail). */
export function toProtoAttempt(r: AttemptRecord): Attempt {
  return create(AttemptSchema, {
    index: r.index,
    provider: r.provider,
    model: r.model,
    targetIndex: r.targetIndex,
    outcome: ATTEMPT_OUTCOME[r.outcome],
    latency: durationFromMs(Math.max(0, Math.round(r.latencyMs))),
    ...(r.timeToFirstTokenMs === undefined ? {} : { timeToFirstToken: durationFromMs(Math.max(0, Math.round(r.timeToFirstTokenMs))) }),
    inputTokens: BigInt(r.usage.inputTokens),
    outputTokens: BigInt(r.usage.outputTokens),
    httpStatus: r.httpStatus ?? 0,
    error: r.error ?? "",
    hedged: r.hedged,
  });
}

/** Attempts of a failed dispatch, keyed by the error it threw (no mutation of the error). */
const failedAttempts = new WeakMap<object, readonly AttemptRecord[]>();

/** Records which attempts a dispatch made before failing with `err`. */
export function attachAttempts<E extends object>(err: E, attempts: readonly AttemptRecord[]): E {
  failedAttempts.set(err, attempts);
  return err;
}

/**
 * The attempts a failed dispatch made, for billing and usage records: every attempt is billed,
 * failed ones too. Undefined for errors that did not come from dispatch.
 */
export function attemptsOf(err: unknown): readonly AttemptRecord[] | undefined {
  return typeof err === "object" && err !== null ? failedAttempts.get(err) : undefined;
}
