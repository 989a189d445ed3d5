import { Code, ConnectError } from "@connectrpc/connect";
import type { EmbedRequest, ModelRequest, TokenUsage } from "../providers/model.js";
import type { Provider } from "../providers/provider.js";
import { ProviderError } from "../providers/provider-error.js";
import { configurationFault } from "../errors/configuration-fault.js";
import { providerErrorToConnect } from "../errors/provider-error-to-connect.js";
import { abortError, type AbortCause } from "./abort-cause.js";
import { markStreamCut, streamCutFor } from "./stream-cut.js";
import { attachAttempts, createAttemptLog, toProtoAttempt, type AttemptLog, type AttemptObserver, type AttemptRecord } from "./attempt-record.js";
import { capableTargets, requiredCapabilities, type Candidate, type DispatchOp } from "./capabilities.js";
import { targetsThatFit } from "./context-window.js";
import { targetsThatTakeOptions } from "./option-bounds.js";
import type { DispatchEnv } from "./dispatch-env.js";
import type { Release } from "./retry-budget.js";
import type { ResolvedRoute } from "./route-types.js";
import { egressRefusal } from "./retryable.js";
import { orderTargets, orderTargetsBy } from "./target-order.js";

/** The caller's side of a dispatch: its cancel signal and its deadline. */
export interface DispatchOptions {
  /** Aborts every attempt when the caller goes away. */
  signal: AbortSignal;
  /** The caller's deadline (epoch ms); the route's `timeoutMs` may shorten it. */
  deadline: number;
  /** Hears of every attempt as it starts and ends (tracing), and may add headers to it. */
  observer?: AttemptObserver;
  /** See {@link BeforeRetry}. */
  beforeRetry?: BeforeRetry;
  /** See {@link ReportUsage}. */
  reportUsage?: ReportUsage;
}

/**
 * Asked before each attempt that follows a failure, with every attempt so far: whether the
 * request may spend on another. The budget stage answers (a failed attempt may be billed — a
 * timeout at its input's estimate — and the spend cap must still cover the next one); false
 * stops dispatch there with the last failure. Never rejects.
 */
export type BeforeRetry = (attempts: readonly AttemptRecord[]) => Promise<boolean>;

/**
 * Told each usage report a stream's provider makes before its end (`CallContext.reportUsage`),
 * as the provider made it: cumulative for its attempt (a later attempt's reports start again from
 * its own zero). The budget stage listens, so the hold of a stream nothing caps follows the
 * provider's count of the output, hidden reasoning included. Must not throw.
 */
export type ReportUsage = (usage: TokenUsage) => void;

/** Why dispatch stopped trying before an attempt succeeded. */
export type StopReason =
  /** The caller cancelled. */
  | "cancelled"
  /** The deadline passed, or too little of it was left to start an attempt that would otherwise have been made. */
  | "deadline"
  /** The retry budget refused another attempt. */
  | "budget"
  /** A spend cap cannot cover another attempt after what the failed ones cost ({@link BeforeRetry}). */
  | "spend"
  /** No target is left, or the last failure may be neither retried nor fallen back from. */
  | "exhausted";

/** A request ready to dispatch: targets filtered and ordered, deadline fixed. Nothing started yet. */
export interface PreparedRequest {
  route: ResolvedRoute;
  request: ModelRequest | EmbedRequest;
  /** Targets that can serve the request, in the order to try them. */
  order: Candidate[];
  deadline: number;
  callerSignal: AbortSignal;
  observer?: AttemptObserver;
  beforeRetry?: BeforeRetry;
  reportUsage?: ReportUsage;
}

/**
 * Filters the route's targets by the capabilities the request needs (throwing
 * `FailedPrecondition` + `CapabilityMissing` when none is left), by the providers' bounds on its
 * options (`InvalidArgument` on the field when none takes them) and by context window (throwing
 * `InvalidArgument` when the prompt fits none), orders them and fixes the one
 * deadline: the earlier of the caller's and now + the route's timeout.
 */
export function prepareRequest(
  env: DispatchEnv,
  providerOf: (kind: string) => Provider | undefined,
  route: ResolvedRoute,
  request: ModelRequest | EmbedRequest,
  op: DispatchOp,
  opts: DispatchOptions,
): PreparedRequest {
  // Capabilities first (FailedPrecondition), then the providers' bounds on request options and
  // context windows (InvalidArgument): all before any call.
  const capable = capableTargets(route, requiredCapabilities(request, op), providerOf);
  const usable = targetsThatFit(targetsThatTakeOptions(capable, request, route.alias), request, route.alias);
  const targets = usable.map((c) => c.target);
  const strategy = route.strategy;
  const order = (strategy === undefined ? orderTargets(targets, env.random) : orderTargetsBy(strategy, targets, env.random, env.load)).map((i) => usable[i] as Candidate);
  return {
    route,
    request,
    order,
    deadline: Math.min(opts.deadline, env.now() + route.timeoutMs),
    callerSignal: opts.signal,
    ...(opts.observer === undefined ? {} : { observer: opts.observer }),
    ...(opts.beforeRetry === undefined ? {} : { beforeRetry: opts.beforeRetry }),
    ...(opts.reportUsage === undefined ? {} : { reportUsage: opts.reportUsage }),
  };
}

/**
 * One dispatched request while it runs: the attempt log, the request-wide abort (the caller's
 * cancel and the deadline combined, with an {@link AbortCause}), and its place in the retry
 * budget. `dispose` must be called once it ends.
 */
export interface RequestScope extends PreparedRequest {
  env: DispatchEnv;
  log: AttemptLog;
  /**
   * Calls `listener` once when the request is aborted (`{ cause: "caller" }` or `{ cause:
   * "deadline" }`), at once if it already was; the returned function unsubscribes. A listener
   * list, not an `AbortSignal`: every call has one, and Node's signals cost ≈ 0.9 KB and a
   * prototype change each (bench/README.md, "Memory per call in flight").
   */
  onAbort(listener: (cause: AbortCause) => void): () => void;
  /** Set once content reached the caller: nothing is retried after that. */
  committed: boolean;
  /** Attempts the egress policy refused (their target's address), counted by attempt control. */
  egressRefusals: number;
  /** `cancelled` or `deadline` when no further attempt may start, else `undefined`. */
  stopReason(): StopReason | undefined;
  /** Whether the deadline has passed. */
  deadlineExpired(): boolean;
  /** Waits up to `ms`, returning early when the request is aborted. */
  sleep(ms: number): Promise<void>;
  /** Whether another attempt may follow the failed ones ({@link BeforeRetry}; true without one). */
  mayRetry(): Promise<boolean>;
  /**
   * The `ConnectError` for a request that stopped for `stop` with `lastError` as the last failure
   * (the plan's `shedError` when no attempt was sent): Canceled when the caller cancelled; DeadlineExceeded when the deadline stopped an attempt that
   * would otherwise have started (`stop` is `deadline`) or has passed; FailedPrecondition when the
   * egress policy refused every attempt (only an operator's setting can change that); else the
   * last failure's.
   */
  failure(stop: StopReason, lastError: unknown): ConnectError;
  /**
   * The `ConnectError` for a stream that failed after content reached the caller. When dispatch
   * aborted it for `cause` and that is the gateway cutting the stream (`streamCutFor`: the idle
   * timer, the deadline), the error says so and is marked with the cut (`streamCutOf`).
   */
  committedFailure(err: unknown, candidate: Candidate, cause?: AbortCause): ConnectError;
  dispose(): void;
}

/** Starts the request: its deadline timer, its caller-cancel link and its retry-budget count. */
export function openRequestScope(env: DispatchEnv, prepared: PreparedRequest): RequestScope {
  return new OpenScope(env, prepared);
}

/**
 * The {@link RequestScope} of {@link openRequestScope}. A class, so its methods are shared by
 * every request rather than created as closures per request (dispatch's hot path).
 */
class OpenScope implements RequestScope {
  readonly route: ResolvedRoute;
  readonly request: ModelRequest | EmbedRequest;
  readonly order: Candidate[];
  readonly deadline: number;
  readonly callerSignal: AbortSignal;
  readonly observer?: AttemptObserver;
  readonly beforeRetry?: BeforeRetry;
  readonly reportUsage?: ReportUsage;
  readonly log: AttemptLog;
  committed = false;
  egressRefusals = 0;
  /** Why the request was aborted; unset while it runs. */
  private reason: AbortCause | undefined;
  private listeners: Array<(cause: AbortCause) => void> = [];
  /** A real signal for backoff sleeps, made only when one is needed. */
  private sleepController: AbortController | undefined;
  private readonly onCallerAbort = (): void => this.abort({ cause: "caller" });
  private readonly cancelDeadline: () => void;
  private readonly releaseRequest: Release;

  constructor(
    readonly env: DispatchEnv,
    prepared: PreparedRequest,
  ) {
    this.route = prepared.route;
    this.request = prepared.request;
    this.order = prepared.order;
    this.deadline = prepared.deadline;
    this.callerSignal = prepared.callerSignal;
    this.observer = prepared.observer;
    this.beforeRetry = prepared.beforeRetry;
    this.reportUsage = prepared.reportUsage;
    this.log = createAttemptLog(prepared.observer);
    if (this.callerSignal.aborted) this.onCallerAbort();
    else this.callerSignal.addEventListener("abort", this.onCallerAbort, { once: true });
    this.cancelDeadline = env.setTimer(() => this.abort({ cause: "deadline" }), this.deadline - env.now());
    this.releaseRequest = env.budget.requestStarted();
  }

  private abort(c: AbortCause): void {
    if (this.reason !== undefined) return;
    this.reason = c;
    const listeners = this.listeners;
    this.listeners = [];
    for (const listener of listeners) listener(c);
    this.sleepController?.abort(c);
  }

  onAbort(listener: (cause: AbortCause) => void): () => void {
    if (this.reason !== undefined) {
      listener(this.reason);
      return () => {};
    }
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i !== -1) this.listeners.splice(i, 1);
    };
  }

  stopReason(): StopReason | undefined {
    const reason = this.reason;
    if (reason?.cause === "caller") return "cancelled";
    if (this.deadlineExpired() || this.deadline - this.env.now() < this.env.minAttemptMs) return "deadline";
    return undefined;
  }

  deadlineExpired(): boolean {
    return this.reason?.cause === "deadline" || this.env.now() >= this.deadline;
  }

  sleep(ms: number): Promise<void> {
    if (this.sleepController === undefined) {
      this.sleepController = new AbortController();
      if (this.reason !== undefined) this.sleepController.abort(this.reason);
    }
    return this.env.sleep(ms, this.sleepController.signal);
  }

  mayRetry(): Promise<boolean> {
    return this.beforeRetry === undefined ? Promise.resolve(true) : this.beforeRetry(this.log.records());
  }

  failure(stop: StopReason, lastError: unknown): ConnectError {
    let err = lastError;
    if (this.stopReason() === "cancelled") err = abortError({ cause: "caller" });
    else if (stop === "deadline" || this.deadlineExpired()) err = abortError({ cause: "deadline" });
    const n = this.log.records().length;
    const why = err instanceof ProviderError ? err.message : "internal error";
    const budget = stop === "budget" ? " (retry budget exhausted)" : stop === "spend" ? " (a spend cap cannot cover another attempt)" : "";
    const refused = egressRefusal(err);
    if (refused !== undefined && this.egressRefusals === n) {
      // Deterministic, and the gateway's configuration rather than the request or the upstream:
      // no retry helps (the OpenAI surface answers 500 `egress_refused`, not retried).
      const message = `route "${this.route.alias}": the gateway's egress policy refuses the address of every target tried (${n} attempt(s)${budget}); the last: ${refused.reason}`;
      return configurationFault(this.build(err, message, Code.FailedPrecondition), "egress_refused");
    }
    if (this.tooLongForEveryTarget(err)) {
      return this.build(err, `route "${this.route.alias}": the prompt is too long for the context window of every target (${n} attempt(s)${budget}): ${why}; shorten it`);
    }
    return this.build(err, `route "${this.route.alias}": no target answered after ${n} attempt(s)${budget}: ${why}`);
  }

  committedFailure(err: unknown, candidate: Candidate, cause?: AbortCause): ConnectError {
    const where = `${candidate.target.provider}/${candidate.target.model}`;
    const cut = cause === undefined ? undefined : streamCutFor(cause);
    if (cut !== undefined) return markStreamCut(this.build(err, `route "${this.route.alias}": the gateway cut the stream from ${where} after it started: ${cut.why}`), cut.cut);
    const why = err instanceof ProviderError ? err.message : "internal error";
    return this.build(err, `route "${this.route.alias}": the stream from ${where} failed after it started: ${why}`);
  }

  dispose(): void {
    this.cancelDeadline();
    this.callerSignal.removeEventListener("abort", this.onCallerAbort);
    this.releaseRequest();
  }

  /**
   * Whether the request ends on a context-length refusal after falling back through the route:
   * every attempt sent was refused (a refusal other than context_length would have stopped the
   * request, unless it is an opted-in content-filter fallback), and the route kept falling back.
   */
  private tooLongForEveryTarget(err: unknown): boolean {
    if (!(err instanceof ProviderError) || err.kind !== "context_length" || !this.route.retry.fallbackOnContextLength) return false;
    const sent = this.log.records().filter((r) => r.outcome !== "circuit_open");
    return sent.length > 0 && sent.every((r) => r.outcome === "rejected");
  }

  /** The `ConnectError` of `err` (its code, or `code`) with `message` and every attempt as its `ProviderAttempts` detail. */
  private build(err: unknown, message: string, code?: Code): ConnectError {
    const records = this.log.records();
    const out = providerErrorToConnect(err, { route: this.route.alias, attempts: records.map(toProtoAttempt), message });
    if (code === undefined) return attachAttempts(out, records);
    const recoded = new ConnectError(message, code, undefined, undefined, err);
    recoded.details = out.details;
    return attachAttempts(recoded, records);
  }
}
