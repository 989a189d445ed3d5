import { callSafely } from "../after-call.js";
import type { TokenUsage } from "../providers/model.js";
import type { CallContext, Provider } from "../providers/provider.js";
import { abortError } from "./abort-cause.js";
import { credentialFor, openAttempt, paramsOf, raceAbort, type FailureFacts } from "./attempt-control.js";
import { createAttemptPlan, type Slot } from "./attempt-plan.js";
import type { Candidate } from "./capabilities.js";
import type { RequestScope, StopReason } from "./request-scope.js";
import type { FailureDecision } from "./retryable.js";

/** How one unary operation (chat or embed) is sent to a target and what it used. */
export interface UnaryCall<T> {
  /** Sends the attempt to `candidate` through `provider`: the candidate's adapter, or the one its credential's settings configure. */
  invoke(candidate: Candidate, provider: Provider, ctx: CallContext): Promise<T>;
  usage(value: T): TokenUsage;
}

type Settled<T> = { ok: true; value: T } | { ok: false; err: unknown; decision: FailureDecision };

interface Running<T> {
  slot: Slot;
  /** Settles when the attempt is over; a failure is recorded by then, a success only by `win`. */
  done: Promise<Settled<T>>;
  /** Records the attempt as the request's answer. */
  win(value: T): void;
  /**
   * Aborts the attempt (a twin won, or all is lost) and records it once it has settled:
   * cancelled, billed with the provider's usage when its full answer had arrived (a photo
   * finish), else with an estimate. Settles within microtasks: `done` races the abort.
   */
  supersede(): Promise<void>;
}

function start<T>(scope: RequestScope, slot: Slot, call: UnaryCall<T>): Running<T> {
  const ctl = openAttempt(scope, slot);
  // The adapter's answer once it returned, even if an abort reached this attempt first.
  let answered: { value: T } | undefined;
  const failed = (thrown: unknown, facts: FailureFacts): Settled<T> => {
    const err = ctl.errorFor(thrown);
    return { ok: false, err, decision: ctl.fail(err, facts) };
  };
  // A promise chain, not an `async` function: no suspended frame per attempt in flight.
  const done: Promise<Settled<T>> = raceAbort(credentialFor(scope, slot), ctl.signal).then(
    ({ apiKey, provider }) => {
      let invoked: Promise<T>;
      try {
        const headers = slot.handle.headers;
        const params = paramsOf(slot);
        const ctx: CallContext = {
          signal: ctl.signal,
          ...(apiKey === undefined ? {} : { apiKey }),
          ...(headers === undefined ? {} : { headers }),
          ...(params === undefined ? {} : { params }),
        };
        invoked = callSafely(() => call.invoke(slot.candidate, provider, ctx));
      } catch (thrown) {
        return failed(thrown, { outputText: "" });
      }
      // Registered before `raceAbort`'s own reaction, so it is known by the time an abort is handled.
      invoked.then(
        (value) => {
          answered = { value };
        },
        () => {},
      );
      return raceAbort(invoked, ctl.signal).then(
        (value): Settled<T> => ({ ok: true, value }),
        (thrown: unknown) => {
          const usage = answered === undefined ? undefined : call.usage(answered.value);
          return failed(thrown, { outputText: "", ...(usage === undefined ? {} : { usage }) });
        },
      );
    },
    (thrown: unknown) => failed(thrown, { outputText: "", sent: false }),
  );
  return {
    slot,
    done,
    win(value) {
      ctl.succeed(call.usage(value));
    },
    async supersede() {
      const cause = { cause: "superseded" } as const;
      ctl.abort(cause);
      const result = await done;
      // A complete answer that lost the race: the provider billed it, and said for how much.
      if (result.ok) ctl.fail(abortError(cause), { outputText: "", usage: call.usage(result.value) });
    },
  };
}

type Event<T> = { type: "settled"; running: Running<T>; result: Settled<T> } | { type: "hedge" };

/**
 * Runs a unary request to its end: attempts in plan order with retries and fallbacks; with
 * `route.hedge.delayMs` set, a twin on the next target whenever the attempts in flight have not
 * answered after the delay (up to `maxHedges`, inside the retry budget). The first success wins
 * and every other attempt is aborted and recorded as cancelled — billed with the provider's usage
 * when its complete answer had arrived too (a photo finish), else with an estimate; a failure that
 * may be neither retried nor fallen back from cancels the others too. Every attempt is recorded
 * before this returns or throws the request's `ConnectError` (when no attempt succeeds).
 */
export async function dispatchUnary<T>(scope: RequestScope, call: UnaryCall<T>): Promise<{ value: T; candidate: Candidate }> {
  const plan = createAttemptPlan(scope);
  const running = new Set<Running<T>>();
  const { delayMs } = scope.route.hedge;
  let hedgesLeft = delayMs === undefined ? 0 : scope.route.hedge.maxHedges;
  let hedgeTimer: { fired: Promise<void>; cancel: () => void } | undefined;
  let lastError: unknown;
  let stop: StopReason | undefined;

  const armHedge = (): void => {
    hedgeTimer?.cancel();
    hedgeTimer = undefined;
    if (hedgesLeft <= 0 || delayMs === undefined) return;
    let cancel = (): void => {};
    const fired = new Promise<void>((resolve) => {
      cancel = scope.env.setTimer(resolve, delayMs);
    });
    hedgeTimer = { fired, cancel };
  };
  const launch = (slot: Slot): void => {
    running.add(start(scope, slot, call));
    armHedge();
  };
  const supersedeRunning = async (): Promise<void> => {
    const left = [...running];
    running.clear();
    await Promise.all(left.map((r) => r.supersede()));
  };

  try {
    const first = plan.claim(false);
    if (typeof first === "string") throw scope.failure(first, plan.shedError());
    launch(first);
    for (;;) {
      const ev = await nextEvent(running, hedgeTimer);
      if (ev.type === "hedge") {
        hedgeTimer = undefined;
        const twin = plan.claim(true);
        if (typeof twin === "string") hedgesLeft = 0;
        else {
          hedgesLeft--;
          launch(twin);
        }
        continue;
      }
      running.delete(ev.running);
      const { result } = ev;
      if (result.ok) {
        ev.running.win(result.value);
        return { value: result.value, candidate: ev.running.slot.candidate };
      }
      lastError = result.err;
      if (!result.decision.fallback && !result.decision.retrySameTarget) {
        // The answer, as in `AttemptPlan.afterFailure`: a deadline merely near does not hide it.
        stop = "exhausted";
        break;
      }
      if (running.size > 0) continue;
      hedgeTimer?.cancel();
      hedgeTimer = undefined;
      const next = plan.afterFailure(ev.running.slot, result.err, result.decision);
      if ("stop" in next) {
        stop = next.stop;
        break;
      }
      if (!(await scope.mayRetry())) {
        stop = "spend";
        break;
      }
      if (next.waitMs > 0) await scope.sleep(next.waitMs);
      const slot = plan.claim(false);
      if (typeof slot === "string") {
        stop = slot;
        break;
      }
      launch(slot);
    }
    // Record the attempts still in flight (a fatal answer cancels them) before reporting.
    await supersedeRunning();
    throw scope.failure(stop ?? "exhausted", lastError);
  } finally {
    hedgeTimer?.cancel();
    // Every attempt is recorded before the caller reads the log (a loser's answer may be in hand).
    if (running.size > 0) await supersedeRunning();
  }
}

/**
 * The first of: an attempt in flight settling, the hedge timer firing. The usual case — one
 * attempt, no hedge armed — awaits that attempt alone, without a race and a reaction per entrant.
 */
function nextEvent<T>(running: ReadonlySet<Running<T>>, hedgeTimer: { fired: Promise<void> } | undefined): Promise<Event<T>> {
  if (running.size === 1 && hedgeTimer === undefined) {
    const only = running.values().next().value as Running<T>;
    return only.done.then((result) => ({ type: "settled", running: only, result }));
  }
  const events: Promise<Event<T>>[] = [...running].map((r) => r.done.then((result) => ({ type: "settled", running: r, result })));
  if (hedgeTimer) events.push(hedgeTimer.fired.then(() => ({ type: "hedge" })));
  return Promise.race(events);
}
