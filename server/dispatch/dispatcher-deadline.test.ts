import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { ProviderAttemptsSchema } from "../../gen/ts/switchboard/v1/error_details_pb.js";
import { realSleep } from "./dispatch-env.js";
import { chatRequest, dispatcherOver, drain, route, within } from "./testing/harness.js";
import { answer, createScriptedProvider, fail } from "./testing/scripted-provider.js";

const asConnect = (e: unknown): ConnectError => {
  expect(e).toBeInstanceOf(ConnectError);
  return e as ConnectError;
};

describe("P12: deadlines and cancellation propagate", () => {
  it("aborts the in-flight attempt at the deadline and answers DeadlineExceeded", async () => {
    const a = createScriptedProvider({ kind: "a", script: [{ type: "hang" }] });
    const d = dispatcherOver([a]);
    const started = Date.now();
    const err = asConnect(await d.chat(route([{ provider: "a", model: "m" }]), chatRequest(), within(100)).catch((e: unknown) => e));
    const elapsed = Date.now() - started;
    expect(err.code).toBe(Code.DeadlineExceeded);
    expect(elapsed).toBeGreaterThanOrEqual(95);
    // Loose on a loaded machine; the exact bound is shown with a driven timer below.
    expect(elapsed).toBeLessThan(2_000); // the attempt hangs for ever: any bound shows the abort
    expect(a.calls[0]?.aborted).toBe(true);
    const attempts = err.findDetails(ProviderAttemptsSchema)[0]?.attempts ?? [];
    expect(attempts).toHaveLength(1);
    expect(attempts[0]?.error).toContain("deadline");
  });

  it("aborts the provider and rejects in the same turn the deadline timer fires", async () => {
    const timers: Array<{ fn: () => void; ms: number }> = [];
    const a = createScriptedProvider({ kind: "a", script: [{ type: "hang" }] });
    const d = dispatcherOver([a], { setTimer: (fn, ms) => (timers.push({ fn, ms }), () => {}) });
    const pending = d.chat(route([{ provider: "a", model: "m" }]), chatRequest(), within(1_000)).catch((e: unknown) => e);
    await new Promise((r) => setImmediate(r));
    expect(a.calls).toHaveLength(1);
    expect(timers).toHaveLength(1);
    expect(timers[0]?.ms).toBeGreaterThan(900);
    timers[0]?.fn();
    expect(a.calls[0]?.aborted).toBe(true);
    const first = await Promise.race([pending.then(() => "settled"), new Promise((resolve) => setImmediate(() => resolve("late")))]);
    expect(first).toBe("settled");
    expect(asConnect(await pending).code).toBe(Code.DeadlineExceeded);
  });

  it("uses the route's timeout when it is shorter than the caller's", async () => {
    const a = createScriptedProvider({ kind: "a", script: [{ type: "hang" }] });
    const d = dispatcherOver([a]);
    const started = Date.now();
    const err = asConnect(await d.chat(route([{ provider: "a", model: "m" }], { timeoutMs: 60 }), chatRequest(), within(10_000)).catch((e: unknown) => e));
    expect(err.code).toBe(Code.DeadlineExceeded);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it("starts no attempt when too little of the deadline is left", async () => {
    const a = createScriptedProvider({ kind: "a", script: [fail("server_error", { httpStatus: 503, delayMs: 70 })] });
    const b = createScriptedProvider({ kind: "b", script: [answer("b")] });
    const d = dispatcherOver([a, b], { minAttemptMs: 50 });
    const r = route([{ provider: "a", model: "m" }, { provider: "b", model: "m", priority: 1 }]);
    const err = asConnect(await d.chat(r, chatRequest(), within(100)).catch((e: unknown) => e));
    expect(err.code).toBe(Code.DeadlineExceeded);
    expect(b.calls).toHaveLength(0);
    expect(err.findDetails(ProviderAttemptsSchema)[0]?.attempts).toHaveLength(1);
  });

  it("aborts the provider call when the caller cancels", async () => {
    const a = createScriptedProvider({ kind: "a", script: [{ type: "hang" }] });
    const d = dispatcherOver([a]);
    const caller = new AbortController();
    setTimeout(() => caller.abort(), 30);
    const err = asConnect(await d.chat(route([{ provider: "a", model: "m" }]), chatRequest(), within(5_000, caller.signal)).catch((e: unknown) => e));
    expect(err.code).toBe(Code.Canceled);
    expect(a.calls[0]?.aborted).toBe(true);
    expect(err.findDetails(ProviderAttemptsSchema)[0]?.attempts.map((x) => x.error)).toEqual(["the request was cancelled"]);
  });

  it("ends a retry's backoff wait at once when the caller cancels, and starts no further attempt", async () => {
    const a = createScriptedProvider({ kind: "a", script: [fail("rate_limited", { httpStatus: 429, retryAfterMs: 3_000 }), answer("too late")] });
    const waits: Array<{ ms: number; abortedEarly: boolean }> = [];
    // The real sleep, recording whether the signal it was given ended it.
    const sleep = (ms: number, signal?: AbortSignal) => {
      const wait = { ms, abortedEarly: false };
      waits.push(wait);
      signal?.addEventListener("abort", () => (wait.abortedEarly = true), { once: true });
      return realSleep(ms, signal);
    };
    const d = dispatcherOver([a], { sleep });
    const caller = new AbortController();
    setTimeout(() => caller.abort(), 50);
    const started = Date.now();
    const err = asConnect(await d.chat(route([{ provider: "a", model: "m" }]), chatRequest(), within(10_000, caller.signal)).catch((e: unknown) => e));
    expect(err.code).toBe(Code.Canceled);
    expect(waits).toEqual([{ ms: expect.any(Number), abortedEarly: true }]);
    expect(waits[0]!.ms).toBeGreaterThanOrEqual(3_000);
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(a.calls).toHaveLength(1);
  });

  it("falls back when a target's per-attempt timeout passes", async () => {
    const a = createScriptedProvider({ kind: "a", script: [{ type: "hang" }] });
    const b = createScriptedProvider({ kind: "b", script: [answer("b")] });
    const d = dispatcherOver([a, b]);
    const r = route([{ provider: "a", model: "m", attemptTimeoutMs: 40 }, { provider: "b", model: "m", priority: 1 }], { retry: { maxAttempts: 1 } });
    const res = await d.chat(r, chatRequest(), within(5_000));
    expect(res.response.text).toBe("b");
    expect(a.calls[0]?.aborted).toBe(true);
    expect(res.attempts[0]).toMatchObject({ outcome: "timeout", error: "the target did not answer within 40 ms" });
    expect(res.attempts[0]?.usage.estimated).toBe(true);
  });

  it("ends a stream at the deadline with DeadlineExceeded and aborts it", async () => {
    const a = createScriptedProvider({
      kind: "a",
      script: [{ type: "stream", events: [{ chunk: { type: "start", model: "m" } }, { chunk: { type: "text", text: "partial" } }, { hang: true }] }],
    });
    const d = dispatcherOver([a]);
    const s = d.chatStream(route([{ provider: "a", model: "m" }]), chatRequest(), within(100));
    const { items, error } = await drain(s.chunks);
    expect(items.map((c) => c.type)).toEqual(["start", "text"]);
    expect(asConnect(error).code).toBe(Code.DeadlineExceeded);
    expect(a.calls[0]?.aborted).toBe(true);
    expect(s.attempts().map((x) => x.outcome)).toEqual(["timeout"]);
  });

  it("aborts the upstream stream when the consumer stops reading", async () => {
    const a = createScriptedProvider({
      kind: "a",
      script: [{ type: "stream", events: [{ chunk: { type: "text", text: "one" } }, { delayMs: 10, chunk: { type: "text", text: "two" } }, { hang: true }] }],
    });
    const d = dispatcherOver([a]);
    const s = d.chatStream(route([{ provider: "a", model: "m" }]), chatRequest(), within(5_000));
    for await (const c of s.chunks) {
      expect(c).toEqual({ type: "text", text: "one" });
      break;
    }
    expect(a.calls[0]?.aborted).toBe(true);
    expect(s.attempts()).toEqual([expect.objectContaining({ outcome: "cancelled", timeToFirstTokenMs: expect.any(Number) })]);
    expect(s.attempts()[0]?.usage).toMatchObject({ estimated: true, outputTokens: 1 });
  });
});
