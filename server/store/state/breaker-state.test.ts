import { describe, expect, it } from "vitest";
import { createBreakerState, StateBackendUnavailableError, type StateBreakerOptions } from "./breaker-state.js";
import { createMemoryState } from "./memory-state.js";
import { runStateBackendContract } from "./state-backend.contract.js";
import type { StateBackend } from "./state-backend.js";

// Wrapped around a healthy backend, the breaker is invisible: the whole contract passes through it.
runStateBackendContract("breaker over memory", () => ({ backend: createBreakerState(createMemoryState()).state }));

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

/**
 * A scripted backend for the wrapper's unit tests: the in-process backend, except that while
 * `failing` is set every call rejects (as a Redis timeout would), and `hold` parks calls until
 * released. Counts the calls that reached it.
 */
function scripted() {
  const inner = createMemoryState();
  const control = { failing: false, reached: 0, held: [] as Array<() => void>, hold: false };
  const backend = new Proxy(inner, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property);
      if (typeof value !== "function" || property === "close") return value;
      return async (...args: unknown[]) => {
        control.reached++;
        if (control.hold) await new Promise<void>((resolve) => control.held.push(resolve));
        if (control.failing) throw new Error("Command timed out");
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  }) as StateBackend;
  return { backend, control };
}

function setup(opts: StateBreakerOptions = {}) {
  const { backend, control } = scripted();
  let now = 1_000_000;
  const logs: Array<{ level: string; to: unknown }> = [];
  const logger = {
    warn: (obj: { to?: unknown }) => void logs.push({ level: "warn", to: obj.to }),
    info: (obj: { to?: unknown }) => void logs.push({ level: "info", to: obj.to }),
  } as never;
  const guarded = createBreakerState(backend, { logger, now: () => now }, { failureRate: false, ...opts });
  return { state: guarded.state, breaker: guarded.breaker, control, logs, advance: (ms: number) => void (now += ms) };
}

/** Makes `n` calls that fail in the backend. */
async function failCalls(state: StateBackend, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await expect(state.get("k")).rejects.toThrow("Command timed out");
}

describe("createBreakerState", () => {
  it("opens after 5 consecutive failures, then refuses every call without reaching the backend", async () => {
    const { state, breaker, control, logs } = setup();
    control.failing = true;
    await failCalls(state, 4);
    expect(breaker.state()).toBe("closed");
    await failCalls(state, 1);
    expect(breaker.state()).toBe("open");
    expect(control.reached).toBe(5);

    control.failing = false; // even a healthy backend is not asked while open
    const refused = await state.reserve([{ key: "b", amount: 1, limit: 10 }], 60_000).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(StateBackendUnavailableError);
    expect(refused).toMatchObject({ operation: "reserve", retryAfterMs: 1000 });
    await expect(state.hitWindow("w", 1, 10, 60_000)).rejects.toBeInstanceOf(StateBackendUnavailableError);
    await expect(state.increment("c", 1, 60_000)).rejects.toBeInstanceOf(StateBackendUnavailableError);
    await expect(state.set("s", bytes("v"), 60_000)).rejects.toBeInstanceOf(StateBackendUnavailableError);
    await expect(state.ping()).rejects.toBeInstanceOf(StateBackendUnavailableError);
    expect(control.reached).toBe(5);
    expect(breaker.opens()).toBe(1);
    expect(breaker.rejected()).toBe(5);
    expect(logs).toEqual([{ level: "warn", to: "open" }]);
  });

  it("counts only consecutive failures: a success in between resets the run", async () => {
    const { state, breaker, control } = setup();
    for (let round = 0; round < 3; round++) {
      control.failing = true;
      await failCalls(state, 4);
      control.failing = false;
      await state.set("k", bytes("v"), 60_000);
    }
    expect(breaker.state()).toBe("closed");
    expect(breaker.opens()).toBe(0);
  });

  it("opens on the failure rate when failures never run to the threshold", async () => {
    const { state, breaker, control } = setup({ failureRate: { percent: 50, minCalls: 10, windowMs: 10_000 } });
    for (let i = 0; i < 4; i++) {
      control.failing = true;
      await failCalls(state, 1);
      control.failing = false;
      await state.get("k");
      expect(breaker.state()).toBe("closed");
    }
    control.failing = true;
    await failCalls(state, 1); // 9 calls: under minCalls
    expect(breaker.state()).toBe("closed");
    control.failing = false;
    await state.get("k"); // a success never opens
    control.failing = true;
    await failCalls(state, 1); // 11 calls, 6 failed
    expect(breaker.state()).toBe("open");
  });

  it("forgets failures older than the rate window", async () => {
    const { state, breaker, control, advance } = setup({ failureThreshold: 100, failureRate: { percent: 50, minCalls: 10, windowMs: 10_000 } });
    control.failing = true;
    await failCalls(state, 9);
    advance(11_000);
    await failCalls(state, 1);
    control.failing = false;
    for (let i = 0; i < 9; i++) await state.get("k");
    expect(breaker.state()).toBe("closed");
  });

  it("half-opens after the cool-down and lets exactly one probe through; its success closes", async () => {
    const { state, breaker, control, logs, advance } = setup({ coolDownMs: 1000 });
    control.failing = true;
    await failCalls(state, 5);
    control.failing = false;
    advance(999);
    await expect(state.get("k")).rejects.toMatchObject({ retryAfterMs: 1 });
    advance(1);
    expect(breaker.state()).toBe("half_open");

    control.hold = true;
    const probe = state.set("k", bytes("v"), 60_000);
    await expect(state.get("k")).rejects.toMatchObject({ name: "StateBackendUnavailableError", retryAfterMs: 0 });
    expect(control.reached).toBe(6);
    control.hold = false;
    for (const release of control.held.splice(0)) release();
    await probe;
    expect(breaker.state()).toBe("closed");
    expect(await state.get("k")).toEqual(bytes("v"));
    expect(logs.map((l) => l.to)).toEqual(["open", "half_open", "closed"]);
  });

  it("re-opens for another cool-down when the probe fails", async () => {
    const { state, breaker, control, advance } = setup({ coolDownMs: 1000 });
    control.failing = true;
    await failCalls(state, 5);
    advance(1000);
    await failCalls(state, 1);
    expect(breaker.state()).toBe("open");
    expect(breaker.opens()).toBe(2);
    advance(500);
    await expect(state.get("k")).rejects.toMatchObject({ retryAfterMs: 500 });
    control.failing = false;
    advance(500);
    await state.get("k");
    expect(breaker.state()).toBe("closed");
  });

  it("probes at once after the clock stepped back while open, rather than staying open for the step", async () => {
    const { state, breaker, control, advance } = setup({ coolDownMs: 1000 });
    control.failing = true;
    await failCalls(state, 5);
    control.failing = false;
    advance(-60_000); // NTP steps the clock back a minute: the circuit now reads as opened in the future
    await state.get("k");
    expect(breaker.state()).toBe("closed");
    expect(control.reached).toBe(6);
  });

  it("does not count invalid arguments (RangeError) as backend failures, not even as a probe", async () => {
    const { state, breaker, control, advance } = setup();
    for (let i = 0; i < 10; i++) await expect(state.set("k", bytes("v"), 0)).rejects.toThrow(RangeError);
    expect(breaker.state()).toBe("closed");
    control.failing = true;
    await failCalls(state, 5);
    advance(1000);
    control.failing = false;
    await expect(state.increment("c", 0.5, 60_000)).rejects.toThrow(RangeError);
    expect(breaker.state()).toBe("half_open");
    await state.increment("c", 1, 60_000); // the probe slot was freed: this call is the next probe
    expect(breaker.state()).toBe("closed");
  });

  it("ignores a result that arrives after a transition", async () => {
    const { state, breaker, control, advance } = setup();
    control.hold = true;
    const early = state.get("k"); // sent while closed, answers late
    const failing = [1, 2, 3, 4, 5].map(() => state.get("k").catch(() => undefined));
    control.failing = true;
    // Release the five failing calls first, then the early one: it will fail too, after opening.
    const [first, ...rest] = control.held.splice(0);
    control.hold = false;
    for (const release of rest) release();
    await Promise.all(failing);
    expect(breaker.state()).toBe("open");
    control.failing = false;
    first!();
    await early; // succeeds, but was admitted before the circuit opened
    expect(breaker.state()).toBe("open");
    advance(1000);
    expect(breaker.state()).toBe("half_open");
  });

  it("guards any method the wrapped backend has, and always lets close through", async () => {
    const { backend, control } = scripted();
    let closed = 0;
    let extra = 0;
    const widened = Object.assign(Object.create(backend) as StateBackend, {
      close: async () => void closed++,
      journal: async (id: string) => `${id}:${++extra}`,
    });
    const { state, breaker } = createBreakerState(widened, {}, { failureThreshold: 1 });
    const guarded = state as StateBackend & { journal(id: string): Promise<string> };
    expect(await guarded.journal("h")).toBe("h:1");
    control.failing = true;
    await expect(state.get("k")).rejects.toThrow("Command timed out");
    expect(breaker.state()).toBe("open");
    await expect(guarded.journal("h")).rejects.toBeInstanceOf(StateBackendUnavailableError);
    expect(extra).toBe(1);
    await state.close();
    expect(closed).toBe(1);
  });
});
