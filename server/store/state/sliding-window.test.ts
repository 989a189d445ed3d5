import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { evaluateSlidingWindow, type SlidingWindowInput } from "./sliding-window.js";

/**
 * The sliding-window decision against its definition: the sliding count is the current window's
 * units plus the previous window's weighted by the unelapsed share of the current one; a hit is
 * admitted when that count with the hit is at most the limit; a refusal's `retryAfterMs` is the
 * least wait after which the same hit is admitted (with nothing else counted meanwhile), or -1
 * when the hit alone exceeds the limit.
 */
const input = fc
  .record({ w: fc.integer({ min: 1, max: 60_000 }), previous: fc.nat(40), current: fc.nat(40), cost: fc.nat(12), limit: fc.nat(40), e: fc.nat() })
  .map(({ w, previous, current, cost, limit, e }): SlidingWindowInput => ({ previous, current, cost, limit, windowMs: w, elapsedMs: e % w }));

/** The same hit `waitMs` later, nothing else counted meanwhile: the window rolls over after `windowMs - elapsedMs`. */
function later(i: SlidingWindowInput, waitMs: number): SlidingWindowInput {
  const at = i.elapsedMs + waitMs;
  if (at < i.windowMs) return { ...i, elapsedMs: at };
  if (at < 2 * i.windowMs) return { ...i, previous: i.current, current: 0, elapsedMs: at - i.windowMs };
  return { ...i, previous: 0, current: 0, elapsedMs: at % i.windowMs };
}

describe("evaluateSlidingWindow", () => {
  it("admits exactly when the sliding count with the hit is within the limit, and reports that count rounded up", () => {
    fc.assert(
      fc.property(input, (i) => {
        const w = i.windowMs;
        // Scaled by w: previous × (w − elapsed) / w + current + cost ≤ limit.
        const scaled = i.previous * (w - i.elapsedMs) + (i.current + i.cost) * w;
        const hit = evaluateSlidingWindow(i);
        expect(hit.allowed).toBe(scaled <= i.limit * w);
        if (hit.allowed) expect(hit.count).toBe(Math.ceil(scaled / w));
        else expect(hit.count).toBe(Math.ceil((i.previous * (w - i.elapsedMs) + i.current * w) / w));
      }),
      { numRuns: 2000 },
    );
  });

  it("tells a refused hit the least wait after which it is admitted, or -1 when it never fits", () => {
    const checked = { waits: 0, never: 0 };
    fc.assert(
      fc.property(input, (i) => {
        const hit = evaluateSlidingWindow(i);
        if (hit.allowed) return;
        if (i.cost > i.limit) {
          expect(hit.retryAfterMs).toBe(-1);
          checked.never++;
          return;
        }
        expect(hit.retryAfterMs).toBeGreaterThan(0);
        expect(evaluateSlidingWindow(later(i, hit.retryAfterMs)).allowed).toBe(true);
        expect(evaluateSlidingWindow(later(i, hit.retryAfterMs - 1)).allowed).toBe(false);
        checked.waits++;
      }),
      { numRuns: 2000 },
    );
    // Not passed by admitting every input: both kinds of refusal were checked, many times.
    expect(checked.waits).toBeGreaterThan(200);
    expect(checked.never).toBeGreaterThan(20);
  });
});
