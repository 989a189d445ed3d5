import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { createBreakerRegistry, type BreakerState } from "./breaker.js";
import { retryInfoMs } from "../errors/retry-info.js";
import { chatRequest, dispatcherOver, drain, route, within } from "./testing/harness.js";
import { answer, createScriptedProvider, fail } from "./testing/scripted-provider.js";

describe("P11: the circuit breaker follows its state machine", () => {
  it("opens after the failures, sheds to the next target, half-opens with a single probe, closes", async () => {
    let clock = 0;
    const transitions: Array<[string, BreakerState, BreakerState]> = [];
    const breakers = createBreakerRegistry({ now: () => clock, onStateChange: (t, from, to) => transitions.push([t.provider, from, to]) });
    const health = { a: false };
    const a = createScriptedProvider({ kind: "a", script: () => (health.a ? answer("from a", { delayMs: 30 }) : fail("server_error", { httpStatus: 503 })) });
    const b = createScriptedProvider({ kind: "b", script: [answer("from b")] });
    const d = dispatcherOver([a, b], { breakers });
    const r = route([{ provider: "a", model: "m" }, { provider: "b", model: "m", priority: 1 }], {
      retry: { maxAttempts: 1 },
      breaker: { volumeThreshold: 4, errorThresholdPercent: 50, resetTimeoutMs: 1_000 },
    });

    for (let i = 0; i < 4; i++) {
      const res = await d.chat(r, chatRequest(), within(5_000));
      expect(res.attempts.map((x) => x.outcome)).toEqual(["unavailable", "success"]);
    }
    expect(transitions).toEqual([["a", "closed", "open"]]);

    // Open: a receives nothing; the skip is recorded and b answers.
    const shed = await d.chat(r, chatRequest(), within(5_000));
    expect(a.calls).toHaveLength(4);
    expect(shed.attempts.map((x) => [x.index, x.targetIndex, x.outcome])).toEqual([
      [1, 0, "circuit_open"],
      [2, 1, "success"],
    ]);
    expect(shed.attempts[0]?.usage).toMatchObject({ inputTokens: 0, outputTokens: 0 });

    // After the reset timeout: exactly one probe, even with concurrent requests.
    clock += 1_000;
    health.a = true;
    const concurrent = await Promise.all([0, 1, 2].map(() => d.chat(r, chatRequest(), within(5_000))));
    expect(a.calls).toHaveLength(5);
    expect(concurrent.map((x) => x.target.provider).sort()).toEqual(["a", "b", "b"]);
    expect(transitions).toEqual([
      ["a", "closed", "open"],
      ["a", "open", "half_open"],
      ["a", "half_open", "closed"],
    ]);

    const closed = await d.chat(r, chatRequest(), within(5_000));
    expect(closed.target.provider).toBe("a");
  });

  it("re-opens on a failed probe", async () => {
    let clock = 0;
    const breakers = createBreakerRegistry({ now: () => clock });
    const a = createScriptedProvider({ kind: "a", script: [fail("connection")] });
    const b = createScriptedProvider({ kind: "b", script: [answer("b")] });
    const d = dispatcherOver([a, b], { breakers });
    const r = route([{ provider: "a", model: "m" }, { provider: "b", model: "m", priority: 1 }], {
      retry: { maxAttempts: 1 },
      breaker: { volumeThreshold: 2, resetTimeoutMs: 1_000 },
    });
    await d.chat(r, chatRequest(), within(5_000));
    await d.chat(r, chatRequest(), within(5_000));
    clock += 1_000;
    const probe = await d.chat(r, chatRequest(), within(5_000));
    expect(probe.attempts.map((x) => x.outcome)).toEqual(["connection_error", "success"]);
    const after = await d.chat(r, chatRequest(), within(5_000));
    expect(after.attempts.map((x) => x.outcome)).toEqual(["circuit_open", "success"]);
    expect(a.calls).toHaveLength(3);
  });

  it("fails fast with Unavailable when every target is open", async () => {
    const breakers = createBreakerRegistry({ now: () => 0 });
    const a = createScriptedProvider({ kind: "a", script: [fail("server_error", { httpStatus: 500 })] });
    const d = dispatcherOver([a], { breakers });
    const r = route([{ provider: "a", model: "m" }], { retry: { maxAttempts: 1 }, breaker: { volumeThreshold: 1 } });
    await expect(d.chat(r, chatRequest(), within(5_000))).rejects.toThrow();
    // Fails fast: settled before the event loop turns (no request, no timer, no I/O awaited).
    const pending = d.chat(r, chatRequest(), within(5_000)).catch((e: unknown) => e);
    const first = await Promise.race([pending.then(() => "settled"), new Promise((resolve) => setImmediate(() => resolve("late")))]);
    expect(first).toBe("settled");
    const err = await pending;
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.Unavailable);
    expect((err as ConnectError).rawMessage).toContain("circuit breaker is open");
    expect(a.calls).toHaveLength(1);
  });

  it("gives the time until the first breaker lets a probe through as the retry hint when every target is open", async () => {
    let clock = 0;
    const breakers = createBreakerRegistry({ now: () => clock });
    const a = createScriptedProvider({ kind: "a", script: () => fail("server_error", { httpStatus: 500 }) });
    const b = createScriptedProvider({ kind: "b", script: () => fail("server_error", { httpStatus: 500 }) });
    const d = dispatcherOver([a, b], { breakers, now: () => clock });
    const r = route([{ provider: "a", model: "m" }, { provider: "b", model: "m", priority: 1 }], {
      retry: { maxAttempts: 1 },
      breaker: { volumeThreshold: 1, resetTimeoutMs: 30_000 },
    });
    await expect(d.chat(r, chatRequest(), { signal: new AbortController().signal, deadline: clock + 5_000 })).rejects.toThrow();
    clock += 10_000;
    const err = await d.chat(r, chatRequest(), { signal: new AbortController().signal, deadline: clock + 5_000 }).catch((e: unknown) => e);
    expect((err as ConnectError).code).toBe(Code.Unavailable);
    expect((err as ConnectError).rawMessage).toContain("circuit breaker is open");
    // Both opened at 0 with a 30 s reset: the first probe is let through 20 s from now.
    expect(retryInfoMs(err as ConnectError)).toBe(20_000);
    // A stream refused the same way says the same.
    const { error } = await drain(d.chatStream(r, chatRequest(), { signal: new AbortController().signal, deadline: clock + 5_000 }).chunks);
    expect(retryInfoMs(error as ConnectError)).toBe(20_000);
    expect(a.calls).toHaveLength(1);
    expect(b.calls).toHaveLength(1);
  });

  it("does not count rejected content or cancels against the target", async () => {
    const breakers = createBreakerRegistry({ now: () => 0 });
    const a = createScriptedProvider({ kind: "a", script: [fail("bad_request", { httpStatus: 400 })] });
    const d = dispatcherOver([a], { breakers });
    const r = route([{ provider: "a", model: "m" }], { breaker: { volumeThreshold: 1 } });
    for (let i = 0; i < 5; i++) await d.chat(r, chatRequest(), within(5_000)).catch(() => {});
    expect(breakers.get({ provider: "a", model: "m" }, r.breaker).state()).toBe("closed");
  });
});
