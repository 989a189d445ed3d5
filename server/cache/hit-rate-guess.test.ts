import { describe, expect, it } from "vitest";
import { createHitRateGuess } from "./hit-rate-guess.js";

describe("hit-rate guess", () => {
  it("guesses a miss for a route not seen yet, a hit once most lookups hit, and a miss again once they stop", () => {
    const guess = createHitRateGuess({ alpha: 0.1 });
    expect(guess.likelyMiss("org", "r")).toBe(true);
    let hits = 0;
    while (guess.likelyMiss("org", "r")) {
      guess.record("org", "r", true);
      hits++;
    }
    expect(hits).toBe(7); // 1 - 0.9^7 ≥ 0.5 > 1 - 0.9^6
    expect(guess.likelyMiss("org", "other")).toBe(true);
    expect(guess.likelyMiss("other", "r")).toBe(true);
    for (let i = 0; i < 3; i++) guess.record("org", "r", false);
    expect(guess.likelyMiss("org", "r")).toBe(true);
  });

  it("tracks a route hitting a third of the time as likely to miss, and two thirds as likely to hit", () => {
    const guess = createHitRateGuess();
    for (let i = 0; i < 600; i++) {
      guess.record("org", "third", i % 3 === 0);
      guess.record("org", "two-thirds", i % 3 !== 0);
    }
    expect(guess.likelyMiss("org", "third")).toBe(true);
    expect(guess.likelyMiss("org", "two-thirds")).toBe(false);
  });

  it("starts over past its bound of routes", () => {
    const guess = createHitRateGuess({ alpha: 1, maxScopes: 2 });
    guess.record("org", "a", true);
    guess.record("org", "b", true);
    expect(guess.likelyMiss("org", "a")).toBe(false);
    guess.record("org", "c", true);
    expect(guess.likelyMiss("org", "a")).toBe(true);
    expect(guess.likelyMiss("org", "c")).toBe(false);
  });
});
