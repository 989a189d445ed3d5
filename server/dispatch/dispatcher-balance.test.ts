import { describe, expect, it } from "vitest";
import type { ModelChunk } from "../providers/model.js";
import type { RouteInput } from "./route-types.js";
import { createGatedProvider } from "./testing/gated-provider.js";
import { chatRequest, dispatcherOver, drain, route, seededRandom, within } from "./testing/harness.js";
import { answer, createScriptedProvider, fail, textStream, type ScriptCall, type ScriptedProvider, type ScriptStep, type StreamEvent } from "./testing/scripted-provider.js";
import { createTargetLoad, type TargetLoad } from "./target-load.js";

/** Two targets of one priority (providers `a` and `b`), with a fallback `c` at priority 1. */
const balanced = (strategy: RouteInput["strategy"], rest: Omit<RouteInput, "alias" | "targets"> = {}) =>
  route(
    [
      { provider: "a", model: "ma" },
      { provider: "b", model: "mb" },
      { provider: "c", model: "mc", priority: 1 },
    ],
    { strategy, retry: { maxAttempts: 1 }, ...rest },
  );

/** Attempts in flight per target, as the dispatcher's load tracker counts them. */
const inFlight = (load: TargetLoad): number[] => ["a", "b", "c"].map((p) => load.peek({ provider: p, model: `m${p}` })?.inFlight ?? 0);

const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

describe("least_busy routes", () => {
  it("sends the next call to the idle target while the other is busy, and counts none once they answered", async () => {
    const a = createGatedProvider("a");
    const b = createGatedProvider("b");
    const load = createTargetLoad();
    const d = dispatcherOver([a, b], { targetLoad: load, random: seededRandom(21) });
    for (let round = 0; round < 12; round++) {
      const first = d.chat(balanced("least_busy"), chatRequest(), within(5_000));
      const second = d.chat(balanced("least_busy"), chatRequest(), within(5_000));
      while (a.calls.length + b.calls.length < 2 * (round + 1)) await settle();
      // One call on each: the second went to whichever target the first left idle.
      expect([a.calls.length, b.calls.length]).toEqual([round + 1, round + 1]);
      expect(inFlight(load)).toEqual([1, 1, 0]);
      a.calls.at(-1)?.answer("a", { outputTokens: 1 });
      b.calls.at(-1)?.answer("b", { outputTokens: 1 });
      const answered = (await Promise.all([first, second])).map((r) => r.target.provider).sort();
      expect(answered).toEqual(["a", "b"]);
      expect(inFlight(load)).toEqual([0, 0, 0]);
    }
  });

  it("sends the next call to the idle target while a stream is mid-way on the other, and counts the stream out when its caller stops reading", async () => {
    const stall: StreamEvent[] = [{ chunk: { type: "start", model: "m" } }, { chunk: { type: "text", text: "so far" } }, { hang: true }];
    // Streams stall after their first content; unary calls answer at once.
    const script = (call: ScriptCall): ScriptStep => (call.op === "chat" ? answer("unary") : { type: "stream", events: stall });
    const a = createScriptedProvider({ kind: "a", script });
    const b = createScriptedProvider({ kind: "b", script });
    const load = createTargetLoad();
    const d = dispatcherOver([a, b], { targetLoad: load, random: seededRandom(5) });
    const streamed = { a: 0, b: 0 };
    for (let round = 0; round < 8; round++) {
      const it = d.chatStream(balanced("least_busy"), chatRequest(), within(5_000)).chunks[Symbol.asyncIterator]();
      expect((await it.next()).value).toMatchObject({ type: "start" });
      const busy = inFlight(load);
      expect(busy).toContain(1);
      expect(busy.reduce((x, y) => x + y)).toBe(1);
      const streaming = busy[0] === 1 ? "a" : "b";
      streamed[streaming]++;
      const res = await d.chat(balanced("least_busy"), chatRequest(), within(5_000));
      expect(res.target.provider).toBe(streaming === "a" ? "b" : "a");
      // The caller stops reading mid-way: the attempt ends, cancelled.
      await it.return?.();
      await settle();
      expect(inFlight(load)).toEqual([0, 0, 0]);
    }
    // Idle, the two split by weight: both streamed (no rigging of the order).
    expect(streamed.a).toBeGreaterThan(0);
    expect(streamed.b).toBeGreaterThan(0);
  });
});

describe("latency routes", () => {
  it("prefer the fast target once both are measured, and still probe the slow one now and then", async () => {
    const a = createScriptedProvider({ kind: "a", script: [answer("slow", { delayMs: 40 })] });
    const b = createScriptedProvider({ kind: "b", script: [answer("fast", { delayMs: 2 })] });
    const load = createTargetLoad();
    const d = dispatcherOver([a, b], { targetLoad: load, random: seededRandom(8) });
    // Warm-up: a target never measured is tried first, so both are measured within two calls.
    for (let i = 0; i < 2; i++) await d.chat(balanced("latency"), chatRequest(), within(5_000));
    expect(a.calls).toHaveLength(1);
    expect(b.calls).toHaveLength(1);
    const picked = { a: 0, b: 0 };
    for (let i = 0; i < 160; i++) {
      const res = await d.chat(balanced("latency"), chatRequest(), within(5_000));
      picked[res.target.provider as "a" | "b"]++;
    }
    expect(picked.b).toBeGreaterThan(140);
    // One request in 20 is ordered weighted random: about 4 of 160 reach the slow one.
    expect(picked.a).toBeGreaterThan(0);
    expect(load.peek({ provider: "a", model: "ma" })?.latencyMs).toBeGreaterThan(load.peek({ provider: "b", model: "mb" })?.latencyMs ?? Infinity);
    expect(inFlight(load)).toEqual([0, 0, 0]);
  });

  it("do not take a target that fails fast for a fast one", async () => {
    const a = createScriptedProvider({ kind: "a", script: [fail("rate_limited")] });
    const b = createScriptedProvider({ kind: "b", script: [answer("b", { delayMs: 20 })] });
    const c = createScriptedProvider({ kind: "c", script: [answer("c")] });
    const load = createTargetLoad();
    const d = dispatcherOver([a, b, c], { targetLoad: load, random: seededRandom(3) });
    for (let i = 0; i < 30; i++) expect((await d.chat(balanced("latency"), chatRequest(), within(5_000))).target.provider).toBe("b");
    // Tried while unmeasured, then only when exploring (weighted random order puts it first half the time).
    expect(a.calls.length).toBeLessThan(5);
    expect(load.peek({ provider: "a", model: "ma" })).toMatchObject({ failing: true, inFlight: 0 });
    expect(Number.isNaN(load.peek({ provider: "a", model: "ma" })?.latencyMs)).toBe(true);
  });
});

describe("attempts in flight", () => {
  const load = createTargetLoad();
  const streaming = (kind: string, step: Parameters<typeof createScriptedProvider>[0]["script"]): ScriptedProvider => createScriptedProvider({ kind, script: step });

  it("return to zero after a failure that falls back, a fallback's success, and a caller's cancel of a unary call", async () => {
    const a = streaming("a", [fail("server_error", { httpStatus: 503 })]);
    const b = streaming("b", [fail("overloaded", { delayMs: 5 })]);
    const c = streaming("c", [{ type: "hang" }, answer("c")]);
    const d = dispatcherOver([a, b, c], { targetLoad: load });
    const cancel = new AbortController();
    const pending = d.chat(balanced("least_busy"), chatRequest(), within(5_000, cancel.signal)).catch((e: unknown) => e);
    // (Polled, not a fixed wait: a loaded machine may take longer to fail over twice.)
    for (let waited = 0; waited < 5_000 && inFlight(load)[2] !== 1; waited += 5) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(inFlight(load)).toEqual([0, 0, 1]);
    cancel.abort();
    await pending;
    expect(inFlight(load)).toEqual([0, 0, 0]);
    const res = await d.chat(balanced("least_busy"), chatRequest(), within(5_000));
    expect(res.target.provider).toBe("c");
    expect(inFlight(load)).toEqual([0, 0, 0]);
  });

  it("return to zero after a hedge twin wins and after a credential cannot be read", async () => {
    const a = streaming("a", [answer("a", { delayMs: 200 })]);
    const b = streaming("b", [answer("b", { delayMs: 200 })]);
    const c = streaming("c", [answer("c", { delayMs: 5 })]);
    const d = dispatcherOver([a, b, c], { targetLoad: load });
    const hedged = route(
      [
        { provider: "a", model: "ma" },
        { provider: "c", model: "mc", priority: 1 },
      ],
      { strategy: "latency", hedge: { delayMs: 20 }, retry: { maxAttempts: 1 } },
    );
    expect((await d.chat(hedged, chatRequest(), within(5_000))).target.provider).toBe("c");
    expect(inFlight(load)).toEqual([0, 0, 0]);
    const noKey = dispatcherOver([a, b, c], {
      targetLoad: load,
      credential: () => Promise.reject(new Error("vault down")),
    });
    const withKey = route([{ provider: "a", model: "ma", credential: "credentials/x" }], { strategy: "least_busy", retry: { maxAttempts: 1 } });
    await expect(noKey.chat(withKey, chatRequest(), within(5_000))).rejects.toThrow();
    expect(load.peek({ provider: "a", model: "ma", credential: "credentials/x" })?.inFlight).toBe(0);
  });

  it("return to zero after a stream ends, fails before content, is cut after content, or its caller cancels mid-way", async () => {
    const stall: StreamEvent[] = [{ chunk: { type: "start", model: "m" } }, { chunk: { type: "text", text: "so far" } }, { hang: true }];
    const a = streaming("a", [fail("server_error", { httpStatus: 502 }), { type: "stream", events: stall }, { type: "stream", events: stall }]);
    const b = streaming("b", [textStream(["ok"])]);
    const d = dispatcherOver([a, b], { targetLoad: load });
    const onlyA = (rest: Omit<RouteInput, "alias" | "targets"> = {}) =>
      route(
        [
          { provider: "a", model: "ma", idleTimeoutMs: 30 },
          { provider: "b", model: "mb", priority: 1 },
        ],
        { strategy: "least_busy", retry: { maxAttempts: 1 }, ...rest },
      );
    // a fails before content, b streams to its end.
    expect((await drain(d.chatStream(onlyA(), chatRequest(), within(5_000)).chunks)).error).toBeUndefined();
    expect(inFlight(load)).toEqual([0, 0, 0]);
    // a stalls after content and the idle timer cuts it.
    expect((await drain(d.chatStream(onlyA(), chatRequest(), within(5_000)).chunks)).error).toBeDefined();
    expect(inFlight(load)).toEqual([0, 0, 0]);
    // a stalls after content (no idle limit this time) and the caller cancels while waiting for a chunk.
    const cancel = new AbortController();
    const patient = route([{ provider: "a", model: "ma" }], { strategy: "least_busy", retry: { maxAttempts: 1 } });
    const seen: ModelChunk[] = [];
    let midway: number[] = [];
    const reading = (async () => {
      for await (const chunk of d.chatStream(patient, chatRequest(), within(5_000, cancel.signal)).chunks) {
        seen.push(chunk);
        if (chunk.type !== "text") continue;
        midway = inFlight(load);
        cancel.abort();
      }
    })().catch((e: unknown) => e);
    expect(await reading).toBeInstanceOf(Error);
    expect(seen.map((c) => c.type)).toContain("text");
    expect(midway).toEqual([1, 0, 0]);
    expect(inFlight(load)).toEqual([0, 0, 0]);
  });
});
