import type { ModelChunk, ModelRequest } from "../providers/model.js";
import { createAttemptPlan } from "./attempt-plan.js";
import type { RequestScope, StopReason } from "./request-scope.js";
import { streamAttempt } from "./stream-attempt.js";

/**
 * The chunks of a streamed request: attempts in plan order with retries and fallbacks until one
 * streams to its end. Before content reached the caller, a failed attempt leaves no trace in the
 * output and the next one starts; after it, the stream ends by throwing the request's
 * `ConnectError`, never with another attempt's output spliced on and never as a clean end
 * (RELIABILITY P14); one the gateway cut itself (idle timer, deadline) is marked so
 * (`stream-cut.ts`). Streams are not hedged. The scope is disposed when the generator ends.
 */
export async function* dispatchStream(scope: RequestScope, req: ModelRequest): AsyncGenerator<ModelChunk, void> {
  const plan = createAttemptPlan(scope);
  let lastError: unknown;
  let sent = false;
  let stop: StopReason = "exhausted";
  try {
    for (;;) {
      const slot = plan.claim(false);
      if (typeof slot === "string") {
        stop = slot;
        break;
      }
      const result = yield* streamAttempt(scope, slot, req);
      sent = true;
      if (result.ok) return;
      lastError = result.err;
      if (scope.committed) throw scope.committedFailure(result.err, slot.candidate, result.cause);
      const next = plan.afterFailure(slot, result.err, result.decision);
      if ("stop" in next) {
        stop = next.stop;
        break;
      }
      if (!(await scope.mayRetry())) {
        stop = "spend";
        break;
      }
      if (next.waitMs > 0) await scope.sleep(next.waitMs);
    }
    // Nothing sent: every target's breaker was open. Once one was, its failure is the answer, even
    // one without a value (an adapter rejecting with `undefined` is an internal error, not a shed).
    throw scope.failure(stop, sent ? lastError : plan.shedError());
  } finally {
    scope.dispose();
  }
}
