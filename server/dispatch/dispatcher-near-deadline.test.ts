import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import type { ProviderErrorKind } from "../providers/provider-error.js";
import type { DispatcherDeps } from "./dispatcher.js";
import type { SetTimer } from "./dispatch-env.js";
import { chatRequest, dispatcherOver, drain, route } from "./testing/harness.js";
import { answer, createScriptedProvider, fail, type ScriptStep } from "./testing/scripted-provider.js";

/**
 * Less than `minAttemptMs` (50 ms) of the deadline left stops only the attempts that would
 * otherwise be made: a definitive answer with nothing left to try is reported as the provider's
 * failure, not as DeadlineExceeded. Time is the test's clock; no timer fires unless the test fires it.
 */

const asConnect = (e: unknown): ConnectError => {
  expect(e).toBeInstanceOf(ConnectError);
  return e as ConnectError;
};

/** A dispatcher on a clock the test moves, with the timers it sets kept for the test to fire. */
function onClock(deps: Partial<DispatcherDeps> = {}) {
  const clock = { t: 1_000_000 };
  const timers: Array<{ fn: () => void; ms: number }> = [];
  const setTimer: SetTimer = (fn, ms) => (timers.push({ fn, ms }), () => {});
  return {
    clock,
    timers,
    over: (providers: Parameters<typeof dispatcherOver>[0]) => dispatcherOver(providers, { now: () => clock.t, setTimer, minAttemptMs: 50, ...deps }),
    /** A deadline 1 s from now on the clock. */
    opts: () => ({ signal: new AbortController().signal, deadline: clock.t + 1_000 }),
  };
}

/** What a unary chat or a stream over `route` ends with: the error thrown, or the stream's failure. */
async function failureOf(t: ReturnType<typeof onClock>, d: ReturnType<ReturnType<typeof onClock>["over"]>, op: "chat" | "chatStream", r: ReturnType<typeof route>): Promise<unknown> {
  if (op === "chat") return d.chat(r, chatRequest(), t.opts()).catch((e: unknown) => e);
  return (await drain(d.chatStream(r, chatRequest(), t.opts()).chunks)).error;
}

/** A script step that answers with `step` once the clock has moved to 10 ms before the 1 s deadline. */
const at10msLeft =
  (clock: { t: number }, step: ScriptStep) =>
  (): ScriptStep => {
    clock.t += 990;
    return step;
  };

const definitive: Array<{ kind: ProviderErrorKind; httpStatus: number; code: Code; fallbackOnAuth?: boolean }> = [
  { kind: "bad_request", httpStatus: 400, code: Code.InvalidArgument },
  { kind: "content_filter", httpStatus: 400, code: Code.InvalidArgument },
  { kind: "auth", httpStatus: 401, code: Code.Internal, fallbackOnAuth: false },
];

describe("a failure near the deadline", () => {
  it.each(definitive)("reports a definitive $kind with 10 ms left as the provider's failure (unary)", async ({ kind, httpStatus, code, fallbackOnAuth }) => {
    const t = onClock();
    const a = createScriptedProvider({ kind: "a", script: at10msLeft(t.clock, fail(kind, { httpStatus })) });
    const b = createScriptedProvider({ kind: "b", script: [answer("b")] });
    const r = route([{ provider: "a", model: "m" }, { provider: "b", model: "m", priority: 1 }], { retry: { ...(fallbackOnAuth === undefined ? {} : { fallbackOnAuth }) } });
    const err = asConnect(await t.over([a, b]).chat(r, chatRequest(), t.opts()).catch((e: unknown) => e));
    expect(err.code).toBe(code);
    expect(err.rawMessage).toContain(`scripted ${kind}`);
    expect(a.calls).toHaveLength(1);
    expect(b.calls).toHaveLength(0);
  });

  it.each(definitive)("reports a definitive $kind with 10 ms left as the provider's failure (stream)", async ({ kind, httpStatus, code, fallbackOnAuth }) => {
    const t = onClock();
    const a = createScriptedProvider({ kind: "a", script: at10msLeft(t.clock, fail(kind, { httpStatus })) });
    const b = createScriptedProvider({ kind: "b", script: [answer("b")] });
    const r = route([{ provider: "a", model: "m" }, { provider: "b", model: "m", priority: 1 }], { retry: { ...(fallbackOnAuth === undefined ? {} : { fallbackOnAuth }) } });
    const { items, error } = await drain(t.over([a, b]).chatStream(r, chatRequest(), t.opts()).chunks);
    expect(items).toEqual([]);
    expect(asConnect(error).code).toBe(code);
    expect(b.calls).toHaveLength(0);
  });

  it("reports a hedged twin's definitive failure with 10 ms left as the provider's, and cancels the other", async () => {
    const t = onClock();
    const a = createScriptedProvider({ kind: "a", script: [{ type: "hang" }] });
    const b = createScriptedProvider({ kind: "b", script: at10msLeft(t.clock, fail("bad_request", { httpStatus: 400 })) });
    const r = route([{ provider: "a", model: "m" }, { provider: "b", model: "m", priority: 1 }], { hedge: { delayMs: 20 } });
    const pending = t.over([a, b]).chat(r, chatRequest(), t.opts()).catch((e: unknown) => e);
    await new Promise((resolve) => setImmediate(resolve));
    expect(a.calls).toHaveLength(1);
    t.timers.find((x) => x.ms === 20)?.fn();
    const err = asConnect(await pending);
    expect(err.code).toBe(Code.InvalidArgument);
    expect(a.calls[0]?.aborted).toBe(true);
    expect(b.calls).toHaveLength(1);
  });

  it("still answers DeadlineExceeded when a retryable failure leaves too little time for its retry (unary)", async () => {
    const t = onClock();
    const a = createScriptedProvider({ kind: "a", script: at10msLeft(t.clock, fail("server_error", { httpStatus: 503 })) });
    const r = route([{ provider: "a", model: "m" }], { retry: { maxAttempts: 3 } });
    const err = asConnect(await t.over([a]).chat(r, chatRequest(), t.opts()).catch((e: unknown) => e));
    expect(err.code).toBe(Code.DeadlineExceeded);
    expect(a.calls).toHaveLength(1);
  });

  it.each(["chat", "chatStream"] as const)(
    "answers DeadlineExceeded when the retry's wait leaves too little time, though an attempt could still start (%s)",
    async (op) => {
      const t = onClock();
      // 60 ms left: enough to start an attempt (50), not to wait the provider's 20 ms first.
      const a = createScriptedProvider({
        kind: "a",
        script: () => {
          t.clock.t += 940;
          return fail("rate_limited", { httpStatus: 429, retryAfterMs: 20 });
        },
      });
      const r = route([{ provider: "a", model: "m" }], { retry: { maxAttempts: 3 } });
      const d = t.over([a]);
      const error = await failureOf(t, d, op, r);
      expect(asConnect(error).code).toBe(Code.DeadlineExceeded);
      expect(a.calls).toHaveLength(1);
    },
  );

  it("still falls back when the retry's wait does not fit but a fallback does", async () => {
    const t = onClock();
    const a = createScriptedProvider({
      kind: "a",
      script: () => {
        t.clock.t += 940;
        return fail("rate_limited", { httpStatus: 429, retryAfterMs: 20 });
      },
    });
    const b = createScriptedProvider({ kind: "b", script: [answer("b")] });
    const r = route([{ provider: "a", model: "m" }, { provider: "b", model: "m", priority: 1 }], { retry: { maxAttempts: 3 } });
    const res = await t.over([a, b]).chat(r, chatRequest(), t.opts());
    expect(res.response.text).toBe("b");
    expect(a.calls).toHaveLength(1);
  });

  it("still answers DeadlineExceeded when a retryable failure leaves too little time for its fallback (stream)", async () => {
    const t = onClock();
    const a = createScriptedProvider({ kind: "a", script: at10msLeft(t.clock, fail("server_error", { httpStatus: 503 })) });
    const b = createScriptedProvider({ kind: "b", script: [answer("b")] });
    const r = route([{ provider: "a", model: "m" }, { provider: "b", model: "m", priority: 1 }], { retry: { maxAttempts: 1 } });
    const { error } = await drain(t.over([a, b]).chatStream(r, chatRequest(), t.opts()).chunks);
    expect(asConnect(error).code).toBe(Code.DeadlineExceeded);
    expect(b.calls).toHaveLength(0);
  });

  it.each(["chat", "chatStream"] as const)(
    "reports a retryable failure as the provider's when no retry or target is left, however little time is (%s)",
    async (op) => {
      const t = onClock();
      const a = createScriptedProvider({ kind: "a", script: at10msLeft(t.clock, fail("server_error", { httpStatus: 503 })) });
      const r = route([{ provider: "a", model: "m" }], { retry: { maxAttempts: 1 } });
      const d = t.over([a]);
      const error = await failureOf(t, d, op, r);
      expect(asConnect(error).code).toBe(Code.Unavailable);
      expect(a.calls).toHaveLength(1);
    },
  );

  it("answers DeadlineExceeded when the deadline itself cuts the attempt", async () => {
    const t = onClock();
    const a = createScriptedProvider({ kind: "a", script: [{ type: "hang" }] });
    const pending = t.over([a]).chat(route([{ provider: "a", model: "m" }]), chatRequest(), t.opts()).catch((e: unknown) => e);
    await new Promise((resolve) => setImmediate(resolve));
    t.clock.t += 1_000;
    t.timers.find((x) => x.ms === 1_000)?.fn();
    expect(asConnect(await pending).code).toBe(Code.DeadlineExceeded);
    expect(a.calls[0]?.aborted).toBe(true);
  });

  it("answers Canceled when the caller cancels, whatever the deadline", async () => {
    const t = onClock();
    const a = createScriptedProvider({ kind: "a", script: [{ type: "hang" }] });
    const caller = new AbortController();
    const pending = t.over([a]).chat(route([{ provider: "a", model: "m" }]), chatRequest(), { signal: caller.signal, deadline: t.clock.t + 1_000 }).catch((e: unknown) => e);
    await new Promise((resolve) => setImmediate(resolve));
    t.clock.t += 990;
    caller.abort();
    expect(asConnect(await pending).code).toBe(Code.Canceled);
  });
});
