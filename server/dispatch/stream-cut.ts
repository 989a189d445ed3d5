import type { AbortCause } from "./abort-cause.js";

/**
 * Why the gateway itself cut a stream after content reached the caller: the proto's
 * `TruncationReason` DEADLINE or IDLE_TIMEOUT. The provider did not fail, so ChatStream ends such a
 * stream with `truncated`, not `upstream_error` (whose provider "failed after the stream
 * started"), and the OpenAI surface's access line says `truncated` too.
 */
export type StreamCut = "deadline" | "idle_timeout";

/** What {@link streamCutFor} makes of an abort: the cut, and a caller-safe line saying why. */
export interface StreamCutFacts {
  cut: StreamCut;
  why: string;
}

/**
 * The cut an abort of a committed stream's attempt is, or undefined when it is none:
 * - `idle`: the provider went silent for longer than the idle limit — IDLE_TIMEOUT.
 * - `deadline`: the request's deadline, the earlier of the caller's and now + the route's
 *   `timeout` (`prepareRequest`) — DEADLINE either way. The route's timeout is the request's
 *   deadline as the gateway enforces it (route_service.proto: "overall deadline across every
 *   attempt"), not something the provider did: the target answered and was cut, as it would have
 *   been by the caller's own deadline, and a retry of the same request meets the same bound. The
 *   caller can act on no difference between the two (which one was earlier is the operator's
 *   configuration), so both are DEADLINE rather than an `upstream_error` that blames the target.
 * - `attempt_timeout`: the target's limit on "the whole of a stream" (route_service.proto). Once
 *   content reached the caller nothing follows the attempt, so its limit is the stream's deadline
 *   — DEADLINE.
 * - `first_token` is only armed before the first content, so it never cuts a committed stream;
 *   `caller` has nobody to tell (the verb rethrows); `superseded` is hedging, and streams are not
 *   hedged.
 */
export function streamCutFor(c: AbortCause): StreamCutFacts | undefined {
  switch (c.cause) {
    case "idle":
      return { cut: "idle_timeout", why: `the target's stream was idle for ${c.ms} ms` };
    case "deadline":
      // Not abortError's "before a target answered": this target did.
      return { cut: "deadline", why: "the request deadline passed" };
    case "attempt_timeout":
      return { cut: "deadline", why: `the stream ran past the target's attempt timeout of ${c.ms} ms` };
    default:
      return undefined;
  }
}

/** The committed-stream failures dispatch cut itself, by error object (the pipeline passes them on as they are). */
const cuts = new WeakMap<object, StreamCut>();

/** Marks `err`, the `ConnectError` a committed stream ended with, as cut by the gateway for `cut`. */
export function markStreamCut<E extends object>(err: E, cut: StreamCut): E {
  cuts.set(err, cut);
  return err;
}

/** Why the gateway cut the stream `err` ended, or undefined when it did not (the provider failed, or `err` is not dispatch's). */
export function streamCutOf(err: unknown): StreamCut | undefined {
  return typeof err === "object" && err !== null ? cuts.get(err) : undefined;
}
