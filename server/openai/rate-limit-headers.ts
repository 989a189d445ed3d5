import type { RateStanding, WindowStanding } from "../limits/rate-standing.js";

/**
 * OpenAI's rate-limit headers for where an admitted call stands: `x-ratelimit-limit-requests`,
 * `-remaining-requests`, `-reset-requests` and the same for tokens, each pair only when a limit
 * of that dimension covers the caller (the tightest one: least left). Remaining counts this call;
 * tokens are counted with the call's estimate (input plus its output cap), as the limit is.
 */
export function rateLimitHeaders(standing: RateStanding): Record<string, string> {
  const out: Record<string, string> = {};
  if (standing.requests !== undefined) put(out, "requests", standing.requests);
  if (standing.tokens !== undefined) put(out, "tokens", standing.tokens);
  return out;
}

/** The headers of a refusal by the `dimension` limit: nothing remains until `retryAfterMs`, when known. */
export function refusedRateLimitHeaders(dimension: "requests" | "tokens", limit: number, retryAfterMs: number | undefined): Record<string, string> {
  return {
    [`x-ratelimit-limit-${dimension}`]: String(limit),
    [`x-ratelimit-remaining-${dimension}`]: "0",
    ...(retryAfterMs === undefined ? {} : { [`x-ratelimit-reset-${dimension}`]: formatReset(retryAfterMs) }),
  };
}

function put(out: Record<string, string>, dimension: "requests" | "tokens", w: WindowStanding): void {
  out[`x-ratelimit-limit-${dimension}`] = String(w.limit);
  out[`x-ratelimit-remaining-${dimension}`] = String(w.remaining);
  out[`x-ratelimit-reset-${dimension}`] = formatReset(w.resetMs);
}

/** A duration as OpenAI writes its resets: `20ms`, `1.5s`, `1m0s`, `1m59.25s`. */
export function formatReset(ms: number): string {
  const whole = Math.max(0, Math.round(ms));
  if (whole < 1000) return `${whole}ms`;
  const minutes = Math.floor(whole / 60_000);
  const seconds = String((whole - minutes * 60_000) / 1000);
  return minutes === 0 ? `${seconds}s` : `${minutes}m${seconds}s`;
}
