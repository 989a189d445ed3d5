import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { breakerKey, createBreakerRegistry, type BreakerPermit, type BreakerState } from "./breaker.js";
import type { BreakerPolicy } from "./route-types.js";

const policy: BreakerPolicy = { errorThresholdPercent: 50, volumeThreshold: 4, resetTimeoutMs: 1_000, rollingWindowMs: 10_000 };
const target = { provider: "p", model: "m" };

function setup() {
  let t = 0;
  const changes: Array<[BreakerState, BreakerState]> = [];
  const registry = createBreakerRegistry({ now: () => t, onStateChange: (_target, from, to) => changes.push([from, to]) });
  return { breaker: registry.get(target, policy), registry, changes, advance: (ms: number) => (t += ms) };
}

describe("circuit breaker", () => {
  it("opens at the threshold once the volume is reached, not before", () => {
    const { breaker, changes } = setup();
    for (let i = 0; i < 3; i++) breaker.tryAcquire()?.settle("failure");
    expect(breaker.state()).toBe("closed");
    breaker.tryAcquire()?.settle("failure");
    expect(breaker.state()).toBe("open");
    expect(breaker.tryAcquire()).toBeUndefined();
    expect(changes).toEqual([["closed", "open"]]);
  });
  it("stays closed below the error share", () => {
    const { breaker } = setup();
    for (let i = 0; i < 30; i++) breaker.tryAcquire()?.settle(i % 4 === 0 ? "failure" : "success");
    expect(breaker.state()).toBe("closed");
  });
  it("forgets failures older than the window", () => {
    const { breaker, advance } = setup();
    for (let i = 0; i < 3; i++) breaker.tryAcquire()?.settle("failure");
    advance(11_000);
    breaker.tryAcquire()?.settle("failure");
    expect(breaker.state()).toBe("closed");
  });
  it("does not count ignored results", () => {
    const { breaker } = setup();
    for (let i = 0; i < 10; i++) breaker.tryAcquire()?.settle("ignore");
    breaker.tryAcquire()?.settle("failure");
    expect(breaker.state()).toBe("closed");
  });
  it("half-opens after the reset timeout with exactly one probe; success closes", () => {
    const { breaker, advance, changes } = setup();
    for (let i = 0; i < 4; i++) breaker.tryAcquire()?.settle("failure");
    advance(999);
    expect(breaker.tryAcquire()).toBeUndefined();
    advance(1);
    const probe = breaker.tryAcquire();
    expect(probe).toBeDefined();
    expect(breaker.state()).toBe("half_open");
    expect(breaker.tryAcquire()).toBeUndefined();
    probe?.settle("success");
    expect(breaker.state()).toBe("closed");
    expect(changes).toEqual([["closed", "open"], ["open", "half_open"], ["half_open", "closed"]]);
  });
  it("lets a probe through at once after the clock stepped back while open, rather than staying open for the step", () => {
    const { breaker, advance } = setup();
    for (let i = 0; i < 4; i++) breaker.tryAcquire()?.settle("failure");
    advance(-60_000); // NTP steps the clock back a minute: the circuit now reads as opened in the future
    const probe = breaker.tryAcquire();
    expect(probe).toBeDefined();
    expect(breaker.state()).toBe("half_open");
    probe?.settle("success");
    expect(breaker.state()).toBe("closed");
  });
  it("re-opens on a failed probe, and lets another probe through on an ignored one", () => {
    const { breaker, advance } = setup();
    for (let i = 0; i < 4; i++) breaker.tryAcquire()?.settle("failure");
    advance(1_000);
    breaker.tryAcquire()?.settle("ignore");
    const second = breaker.tryAcquire();
    expect(second).toBeDefined();
    second?.settle("failure");
    expect(breaker.state()).toBe("open");
    expect(breaker.tryAcquire()).toBeUndefined();
  });
  it("ignores a late success from a call made before it opened", () => {
    const { breaker, advance } = setup();
    const early = breaker.tryAcquire();
    for (let i = 0; i < 4; i++) breaker.tryAcquire()?.settle("failure");
    expect(breaker.state()).toBe("open");
    early?.settle("success");
    expect(breaker.state()).toBe("open");
    advance(1_000);
    const probe = breaker.tryAcquire();
    early?.settle("success");
    expect(breaker.state()).toBe("half_open");
    probe?.settle("failure");
    expect(breaker.state()).toBe("open");
  });
  it("ignores late failures from calls made before it opened, once it has closed again", () => {
    const { breaker, advance } = setup();
    const early = Array.from({ length: 4 }, () => breaker.tryAcquire());
    for (let i = 0; i < 4; i++) breaker.tryAcquire()?.settle("failure");
    advance(1_000);
    breaker.tryAcquire()?.settle("success");
    expect(breaker.state()).toBe("closed");
    for (const p of early) p?.settle("failure");
    expect(breaker.state()).toBe("closed");
  });
  it("starts a fresh window when it closes again: the failures that opened it no longer count", () => {
    const { breaker, advance } = setup();
    for (let i = 0; i < 4; i++) breaker.tryAcquire()?.settle("failure");
    advance(1_000);
    breaker.tryAcquire()?.settle("success");
    expect(breaker.state()).toBe("closed");
    // Within the 10 s window of the first failures: only this one counts, below the volume.
    breaker.tryAcquire()?.settle("failure");
    expect(breaker.state()).toBe("closed");
  });
  it("applies the policy of the latest route that asked for the breaker", () => {
    const { registry } = setup();
    registry.get(target, policy);
    const breaker = registry.get(target, { ...policy, volumeThreshold: 2 });
    for (let i = 0; i < 2; i++) breaker.tryAcquire()?.settle("failure");
    expect(breaker.state()).toBe("open");
  });
  it("applies a shorter rolling window at once", () => {
    const { registry, advance } = setup();
    const breaker = registry.get(target, policy);
    registry.get(target, { ...policy, rollingWindowMs: 1_000 });
    for (let i = 0; i < 3; i++) breaker.tryAcquire()?.settle("failure");
    advance(2_000);
    // Outside the 1 s window, the first three are forgotten (inside the old 10 s one they would open it).
    breaker.tryAcquire()?.settle("failure");
    expect(breaker.state()).toBe("closed");
  });
  it("reports a breaker's target with its credential (metrics and transitions)", () => {
    let t = 0;
    const seen: unknown[] = [];
    const registry = createBreakerRegistry({ now: () => t, onStateChange: (changed) => seen.push(changed) });
    const withCredential = { provider: "p", model: "m", credential: "c" };
    const breaker = registry.get(withCredential, policy);
    for (let i = 0; i < 4; i++) breaker.tryAcquire()?.settle("failure");
    t += 1;
    expect(seen).toEqual([withCredential]);
    expect(registry.states()).toEqual([{ target: withCredential, state: "open" }]);
  });
  it("keeps one breaker per provider/model/credential", () => {
    const { registry } = setup();
    expect(registry.get({ provider: "p", model: "m" }, policy)).toBe(registry.get({ provider: "p", model: "m" }, policy));
    expect(registry.get({ provider: "p", model: "m", credential: "c" }, policy)).not.toBe(registry.get({ provider: "p", model: "m" }, policy));
  });

  // Model-based check over random interleavings of acquires, settles (in any order, late ones
  // included) and clock advances: the invariants of RELIABILITY P11 hold at every step.
  it("never admits a call while open, admits at most one probe, and never sticks open", () => {
    type Op = { op: "acquire" } | { op: "settle"; pick: number; verdict: "success" | "failure" | "ignore" } | { op: "advance"; ms: number };
    const opArb: fc.Arbitrary<Op> = fc.oneof(
      fc.constant({ op: "acquire" as const }),
      fc.record({ op: fc.constant("settle" as const), pick: fc.nat(), verdict: fc.constantFrom("success" as const, "failure" as const, "ignore" as const) }),
      fc.record({ op: fc.constant("advance" as const), ms: fc.integer({ min: 0, max: 1_500 }) }),
    );
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 200 }), (ops) => {
        const { breaker, advance } = setup();
        const open: Array<{ permit: BreakerPermit; probe: boolean }> = [];
        for (const o of ops) {
          if (o.op === "advance") advance(o.ms);
          else if (o.op === "acquire") {
            const before = breaker.state();
            const inFlightProbes = open.filter((p) => p.probe).length;
            const permit = breaker.tryAcquire();
            const after = breaker.state();
            if (before === "open" && after === "open" && permit) return false;
            if (after === "half_open" && permit) {
              if (inFlightProbes > 0) return false;
              open.push({ permit, probe: true });
            } else if (permit) open.push({ permit, probe: false });
          } else if (open.length > 0) {
            const [taken] = open.splice(o.pick % open.length, 1);
            taken?.permit.settle(o.verdict);
            if (breaker.state() !== "half_open") open.forEach((p) => (p.probe = false));
          }
        }
        // Whatever happened, after the reset timeout a probe is admitted.
        for (const p of open) p.permit.settle("ignore");
        advance(1_000);
        return breaker.tryAcquire() !== undefined;
      }),
    );
  });
});

describe("breakerKey", () => {
  it("is the same for the same target and differs whenever provider, model or credential differs", () => {
    const part = fc.constantFrom("", "a", "b", "a,b", '"', "a\",\"b");
    fc.assert(
      fc.property(fc.tuple(part, part, fc.option(part, { nil: undefined })), fc.tuple(part, part, fc.option(part, { nil: undefined })), ([p1, m1, c1], [p2, m2, c2]) => {
        const a = { provider: p1, model: m1, ...(c1 === undefined ? {} : { credential: c1 }) };
        const b = { provider: p2, model: m2, ...(c2 === undefined ? {} : { credential: c2 }) };
        const same = p1 === p2 && m1 === m2 && (c1 ?? "") === (c2 ?? "");
        expect(breakerKey(a) === breakerKey(b)).toBe(same);
        expect(breakerKey(a)).toBe(breakerKey({ ...a }));
      }),
      { numRuns: 300 },
    );
  });
});
