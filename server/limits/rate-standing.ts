/** Where a caller stands against one rate-limit window after a call was admitted. */
export interface WindowStanding {
  /** The limit per window. */
  limit: number;
  /** What is left of it, this call counted (never below 0). */
  remaining: number;
  /** Milliseconds until the window holds nothing of what is counted now, if nothing else arrives. */
  resetMs: number;
}

/**
 * The tightest requests and tokens windows of the limits that cover a call (the one with the
 * least left; the narrowest level on a tie), as the rate-limit stages last saw them. A surface
 * that reports it (the OpenAI surface's `x-ratelimit-*` headers) puts an empty one on the call and
 * reads it once the call was admitted; the requests stage fills `requests`, the tokens stage
 * `tokens`. A dimension without a limit stays absent.
 */
export interface RateStanding {
  requests?: WindowStanding;
  tokens?: WindowStanding;
}
