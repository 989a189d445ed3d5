import { describe, expect, it } from "vitest";
import { createTargetLoad, LATENCY_EWMA_ALPHA } from "./target-load.js";

const a = { provider: "openai", model: "m", credential: "credentials/a" };

describe("createTargetLoad", () => {
  it("keys targets as breakers do: provider, model and credential", () => {
    const load = createTargetLoad();
    load.begin(a);
    load.begin({ ...a });
    load.begin({ ...a, credential: "credentials/b" });
    expect(load.peek({ ...a })?.inFlight).toBe(2);
    expect(load.peek({ ...a, credential: "credentials/b" })?.inFlight).toBe(1);
    expect(load.peek({ provider: "openai", model: "m" })).toBeUndefined();
  });

  it("averages successes (the first sets it), and counts each attempt out once it ends", () => {
    const load = createTargetLoad();
    load.end(load.begin(a), "success", 400);
    expect(load.peek(a)?.latencyMs).toBe(400);
    load.end(load.begin(a), "success", 800);
    expect(load.peek(a)?.latencyMs).toBeCloseTo(400 + LATENCY_EWMA_ALPHA * 400);
    expect(load.peek(a)?.inFlight).toBe(0);
  });

  it("leaves failures out of the average but marks the target failing until it answers again", () => {
    const load = createTargetLoad();
    load.end(load.begin(a), "failure", 3);
    expect(load.peek(a)).toMatchObject({ inFlight: 0, failing: true });
    expect(Number.isNaN(load.peek(a)?.latencyMs)).toBe(true);
    load.end(load.begin(a), "success", 300);
    load.end(load.begin(a), "failure", 1);
    expect(load.peek(a)).toMatchObject({ latencyMs: 300, failing: true });
    load.end(load.begin(a), "success", 300);
    expect(load.peek(a)).toMatchObject({ latencyMs: 300, failing: false });
  });

  it("lets a hedge loser only raise the average, and a cancel tell nothing", () => {
    // A target that only ever loses its hedge is measured by how long it ran: unmeasured, it would
    // rank fastest under `latency` and be tried first by every request.
    const slow = createTargetLoad();
    slow.end(slow.begin(a), "superseded", 900);
    expect(slow.peek(a)?.latencyMs).toBe(900);
    const load = createTargetLoad();
    load.end(load.begin(a), "success", 200);
    load.end(load.begin(a), "superseded", 100);
    expect(load.peek(a)?.latencyMs).toBe(200);
    load.end(load.begin(a), "superseded", 600);
    expect(load.peek(a)?.latencyMs).toBeCloseTo(200 + LATENCY_EWMA_ALPHA * 400);
    load.end(load.begin(a), "ignore", 5);
    expect(load.peek(a)).toMatchObject({ inFlight: 0, failing: false });
    expect(load.peek(a)?.latencyMs).toBeCloseTo(300);
  });
});
