import type { RateStanding, WindowStanding } from "../limits/rate-standing.js";

/**
 * OpenAI's rate-limit headers for where an admitted call stands: `x-ratelimit-limit-requests`,
 * `-remaining-requests`, `-reset-requests` and the same for tokens, each pair only when a limit
 * of that dimension covers the caller (the tightest one: least left). Remaining counts this call;
 * tokens are counted with the call's estimate (input plus its output cap), as the limit is.
 */
export function rateLimitHeaders(standing: RateStanding): Record<string, string> {
  return {
    ...(standing.requests === undefined ? {} : windowHeaders("requests", standing.requests)),
    ...(standing.tokens === undefined ? {} : windowHeaders("tokens", standing.tokens)),
  };
}

/** The headers of a refusal by the `dimension` limit: nothing remains until `retryAfterMs`, when known. */
export function refusedRateLimitHeaders(dimension: Dimension, limit: number, retryAfterMs: number | undefined): Record<string, string> {
  return windowHeaders(dimension, { limit, remaining: 0, resetMs: retryAfterMs });
}

type Dimension = "requests" | "tokens";

/** One dimension's three headers; no reset header when the reset is unknown. */
function windowHeaders(dimension: Dimension, w: Omit<WindowStanding, "resetMs"> & { resetMs: number | undefined }): Record<string, string> {
  return {
    [`x-ratelimit-limit-${dimension}`]: String(w.limit),
    [`x-ratelimit-remaining-${dimension}`]: String(w.remaining),
    ...(w.resetMs === undefined ? {} : { [`x-ratelimit-reset-${dimension}`]: formatReset(w.resetMs) }),
  };
}

/** A duration as OpenAI writes its resets: `20ms`, `1.5s`, `1m0s`, `1m59.25s`. */
export function formatReset(ms: number): string {
  const whole = Math.max(0, Math.round(ms));
  if (whole < 1000) return `${whole}ms`;
  const minutes = Math.floor(whole / 60_000);
  const seconds = String((whole - minutes * 60_000) / 1000);
  return minutes === 0 ? `${seconds}s` : `${minutes}m${seconds}s`;
}
