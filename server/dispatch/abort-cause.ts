import { ProviderError } from "../providers/provider-error.js";

/**
 * Why dispatch aborted an attempt. Dispatch knows the cause better than the adapter, which only
 * sees its signal fire, so the attempt is recorded and decided from this, not from what the
 * adapter threw.
 */
export type AbortCause =
  /** The caller cancelled (client gone, or the stream consumer stopped reading). */
  | { cause: "caller" }
  /** The request's overall deadline passed. */
  | { cause: "deadline" }
  /** The target's per-attempt timeout passed. */
  | { cause: "attempt_timeout"; ms: number }
  /** A stream produced no content within the first-token limit. */
  | { cause: "first_token"; ms: number }
  /** A stream was silent for longer than the idle limit. */
  | { cause: "idle"; ms: number }
  /** A hedged twin answered first, or a fatal answer made the others pointless. */
  | { cause: "superseded" };

/** Whether a signal's reason is one of ours. */
export function isAbortCause(reason: unknown): reason is AbortCause {
  return typeof reason === "object" && reason !== null && typeof (reason as { cause?: unknown }).cause === "string";
}

/** The classified, caller-safe error an attempt aborted for `c` is recorded and decided with. */
export function abortError(c: AbortCause): ProviderError {
  switch (c.cause) {
    case "caller":
      return new ProviderError("cancelled", "the request was cancelled");
    case "deadline":
      return new ProviderError("timeout", "the request deadline passed before a target answered");
    case "attempt_timeout":
      return new ProviderError("timeout", `the target did not answer within ${c.ms} ms`);
    case "first_token":
      return new ProviderError("timeout", `the target sent no first token within ${c.ms} ms`);
    case "idle":
      return new ProviderError("timeout", `the target's stream was idle for ${c.ms} ms`);
    case "superseded":
      return new ProviderError("cancelled", "another attempt answered first");
  }
}
