import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { startLeaseHeartbeat } from "./lease-heartbeat.js";

beforeEach(() => vi.useFakeTimers());
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe("lease heartbeat", () => {
  it("renews every period until stopped, then never again, with an unref'd timer", async () => {
    const setInterval = vi.spyOn(globalThis, "setInterval");
    const renew = vi.fn(() => Promise.resolve(true));
    const stop = startLeaseHeartbeat({ renew, everyMs: 100, signal: new AbortController().signal, onError: () => {} });
    expect((setInterval.mock.results[0]?.value as NodeJS.Timeout).hasRef()).toBe(false);
    await vi.advanceTimersByTimeAsync(350);
    expect(renew).toHaveBeenCalledTimes(3);
    stop();
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(renew).toHaveBeenCalledTimes(3);
  });

  it("stops when the signal aborts, and when the lease is no longer held", async () => {
    const abort = new AbortController();
    const renew = vi.fn(() => Promise.resolve(true));
    startLeaseHeartbeat({ renew, everyMs: 100, signal: abort.signal, onError: () => {} });
    await vi.advanceTimersByTimeAsync(150);
    abort.abort();
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(renew).toHaveBeenCalledTimes(1);

    const lost = vi.fn(() => Promise.resolve(false));
    startLeaseHeartbeat({ renew: lost, everyMs: 100, signal: new AbortController().signal, onError: () => {} });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(lost).toHaveBeenCalledTimes(1);
    expect(vi.getTimerCount()).toBe(0);

    const already = AbortSignal.abort();
    startLeaseHeartbeat({ renew, everyMs: 100, signal: already, onError: () => {} });
    expect(vi.getTimerCount()).toBe(0);
  });

  it("reports a failed renewal and tries again at the next tick; a hung one does not hold the next back, two at most", async () => {
    const errors: unknown[] = [];
    let calls = 0;
    const renew = () => (++calls <= 2 ? Promise.reject(new Error("connection refused")) : Promise.resolve(true));
    const stop = startLeaseHeartbeat({ renew, everyMs: 100, signal: new AbortController().signal, onError: (err) => errors.push(err) });
    await vi.advanceTimersByTimeAsync(450);
    expect(errors).toHaveLength(2);
    expect(calls).toBe(4);
    stop();

    // A renewal that hangs (a stuck connection) does not hold the next tick back — one stuck
    // renewal must not lose the lease — but at most two run at once, however long they hang.
    let running = 0;
    const finishers: (() => void)[] = [];
    const slow = vi.fn(() => {
      running++;
      return new Promise<boolean>((resolve) => finishers.push(() => resolve(true)));
    });
    const stopSlow = startLeaseHeartbeat({ renew: slow, everyMs: 100, signal: new AbortController().signal, onError: () => {} });
    await vi.advanceTimersByTimeAsync(150);
    expect(running).toBe(1);
    await vi.advanceTimersByTimeAsync(100);
    expect(running).toBe(2);
    await vi.advanceTimersByTimeAsync(300);
    expect(running).toBe(2);
    finishers.shift()!();
    await vi.advanceTimersByTimeAsync(100);
    expect(running).toBe(3);
    stopSlow();
  });
});
