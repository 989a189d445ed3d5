import { describe, expect, it } from "vitest";
import { formatReset, rateLimitHeaders } from "./rate-limit-headers.js";

describe("x-ratelimit-* headers", () => {
  it("writes resets as OpenAI does", () => {
    expect([0, 20, 999.6, 1000, 1500, 59_999, 60_000, 95_500, 119_250, 600_000].map(formatReset)).toEqual([
      "0ms",
      "20ms",
      "1s",
      "1s",
      "1.5s",
      "59.999s",
      "1m0s",
      "1m35.5s",
      "1m59.25s",
      "10m0s",
    ]);
  });

  it("sends each dimension a limit covers, and nothing for one without", () => {
    expect(rateLimitHeaders({})).toEqual({});
    expect(rateLimitHeaders({ requests: { limit: 60, remaining: 59, resetMs: 90_000 } })).toEqual({
      "x-ratelimit-limit-requests": "60",
      "x-ratelimit-remaining-requests": "59",
      "x-ratelimit-reset-requests": "1m30s",
    });
    expect(rateLimitHeaders({ requests: { limit: 60, remaining: 0, resetMs: 61_000 }, tokens: { limit: 10_000, remaining: 5_904, resetMs: 700 } })).toEqual({
      "x-ratelimit-limit-requests": "60",
      "x-ratelimit-remaining-requests": "0",
      "x-ratelimit-reset-requests": "1m1s",
      "x-ratelimit-limit-tokens": "10000",
      "x-ratelimit-remaining-tokens": "5904",
      "x-ratelimit-reset-tokens": "700ms",
    });
  });
});
