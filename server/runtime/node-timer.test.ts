import { describe, expect, it } from "vitest";
import { MAX_TIMER_MS, timeoutWithin } from "./node-timer.js";

describe("timeoutWithin", () => {
  it("sets a timer within a Node timer's range and none beyond it (Node would fire that after 1 ms)", async () => {
    let fired = 0;
    const near = timeoutWithin(() => fired++, 5);
    expect(near).toBeDefined();
    expect(timeoutWithin(() => fired++, MAX_TIMER_MS + 1)).toBeUndefined();
    await new Promise((r) => setTimeout(r, 30));
    expect(fired).toBe(1);
    clearTimeout(timeoutWithin(() => fired++, MAX_TIMER_MS));
  });
});
