import { describe, expect, it } from "vitest";
import { createBreakerState } from "../store/state/breaker-state.js";
import { createMemoryState } from "../store/state/memory-state.js";
import type { StateBackend } from "../store/state/state-backend.js";
import { createMetrics } from "./metrics.js";
import { addServerGauges } from "./server-gauges.js";

describe("the state breaker's gauges", () => {
  it("report the breaker's state, its opens and its refusals at scrape time", async () => {
    let now = 0;
    let failing = false;
    const memory = createMemoryState();
    const flaky: StateBackend = { ...memory, get: (key) => (failing ? Promise.reject(new Error("Command timed out")) : memory.get(key)) };
    const { state, breaker } = createBreakerState(flaky, { now: () => now }, { failureThreshold: 2, coolDownMs: 1000 });
    const metrics = createMetrics({ processMetrics: false });
    addServerGauges(metrics, { stateBreaker: breaker });
    const series = async () => {
      const text = await metrics.render();
      const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1]);
      return { state: value("switchboard_state_breaker_state"), opens: value("switchboard_state_breaker_opens"), rejected: value("switchboard_state_breaker_rejected_calls") };
    };

    expect(await series()).toEqual({ state: 0, opens: 0, rejected: 0 });
    failing = true;
    for (let i = 0; i < 2; i++) await state.get("k").catch(() => undefined);
    await state.get("k").catch(() => undefined);
    expect(await series()).toEqual({ state: 2, opens: 1, rejected: 1 });
    now += 1000;
    expect(await series()).toEqual({ state: 1, opens: 1, rejected: 1 });
    failing = false;
    await state.get("k");
    expect(await series()).toEqual({ state: 0, opens: 1, rejected: 1 });
    await memory.close();
  });
});
