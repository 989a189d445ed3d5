import { afterEach, describe, expect, it, vi } from "vitest";
import { pollRefresh, serialRefresh } from "./snapshot-refresh.js";

/** A reload that records what it read and finishes when told. */
function gatedReload() {
  let data = 0;
  const reads: number[] = [];
  const gates: Array<(err?: Error) => void> = [];
  const reload = () =>
    new Promise<void>((resolve, reject) => {
      reads.push(data);
      gates.push((err) => (err === undefined ? resolve() : reject(err)));
    });
  return {
    reload,
    reads,
    write: () => void data++,
    /** Finishes the oldest reload still running. */
    finish: async (err?: Error) => {
      gates.shift()!(err);
      for (let i = 0; i < 10; i++) await Promise.resolve(); // the promise chains behind it (timers may be fake)
    },
  };
}

afterEach(() => vi.useRealTimers());

describe("serial refresh", () => {
  it("gives a caller who arrives during a reload a later one, which reads the caller's write", async () => {
    const g = gatedReload();
    const refresh = serialRefresh(g.reload);
    const poll = refresh();
    expect(refresh.current()).toBe(poll);
    g.write(); // a write on this replica, after the running reload read the old data
    const mine = refresh();
    expect(mine).not.toBe(poll);
    await g.finish();
    await poll;
    expect(g.reads).toEqual([0, 1]); // the second reload started once the first ended
    await g.finish();
    await mine;
    expect(refresh.current()).toBeUndefined();
  });

  it("runs one reload at a time, and every caller arriving meanwhile shares the next", async () => {
    const g = gatedReload();
    const refresh = serialRefresh(g.reload);
    const first = refresh();
    const later = [refresh(), refresh(), refresh()];
    expect(new Set(later).size).toBe(1);
    expect(g.reads).toHaveLength(1);
    await g.finish();
    await first;
    expect(g.reads).toHaveLength(2);
    await g.finish();
    await Promise.all(later);
    expect(g.reads).toHaveLength(2);
  });

  it("runs the next reload after a failed one, and reports each failure to its own callers", async () => {
    const g = gatedReload();
    const refresh = serialRefresh(g.reload);
    const failing = refresh();
    const next = refresh();
    await g.finish(new Error("database down"));
    await expect(failing).rejects.toThrow("database down");
    await g.finish();
    await expect(next).resolves.toBeUndefined();
    expect(g.reads).toHaveLength(2);
  });
});

describe("poll refresh", () => {
  it("refreshes every interval, reports failures, and stops", async () => {
    vi.useFakeTimers();
    const errors: unknown[] = [];
    let calls = 0;
    const stop = pollRefresh(
      serialRefresh(async () => {
        calls++;
        if (calls === 2) throw new Error("blip");
      }),
      100,
      (err) => errors.push(err),
    );
    await vi.advanceTimersByTimeAsync(350);
    expect(calls).toBe(3);
    expect(errors).toEqual([new Error("blip")]);
    stop();
    await vi.advanceTimersByTimeAsync(500);
    expect(calls).toBe(3);
  });

  it("skips a tick while a reload runs: a slow database gets one reload at a time", async () => {
    vi.useFakeTimers();
    const g = gatedReload();
    const stop = pollRefresh(serialRefresh(g.reload), 100);
    await vi.advanceTimersByTimeAsync(450); // four ticks; the first reload is still running
    expect(g.reads).toHaveLength(1);
    await g.finish();
    expect(g.reads).toHaveLength(1); // no reload was queued behind it
    await vi.advanceTimersByTimeAsync(100);
    expect(g.reads).toHaveLength(2);
    stop();
  });
});
