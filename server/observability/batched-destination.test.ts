import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterEach, describe, expect, it, vi } from "vitest";
import { batchedDestination, type BatchTarget } from "./batched-destination.js";

/** A target recording each write it is handed, and its flush calls. */
function target(): BatchTarget & { writes: string[]; flushes: number; syncFlushes: number } {
  const t = {
    writes: [] as string[],
    flushes: 0,
    syncFlushes: 0,
    write: (text: string) => void t.writes.push(text),
    flush: (cb: (err?: Error | null) => void) => {
      t.flushes++;
      cb();
    },
    flushSync: () => void t.syncFlushes++,
    writeSync: (text: string) => void t.writes.push(text),
  };
  return t;
}

describe("batchedDestination", () => {
  afterEach(() => void vi.useRealTimers());

  it("hands the lines of one delay over as one write, in order, when the delay ends — and none before", () => {
    vi.useFakeTimers();
    const t = target();
    const d = batchedDestination(t, { maxDelayMs: 50 });
    d.write("a\n");
    vi.advanceTimersByTime(30);
    d.write("b\n");
    d.write("c\n");
    vi.advanceTimersByTime(19);
    expect(t.writes).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(t.writes).toEqual(["a\nb\nc\n"]);
    // The next line starts a new delay of its own.
    d.write("d\n");
    vi.advanceTimersByTime(49);
    expect(t.writes).toEqual(["a\nb\nc\n"]);
    vi.advanceTimersByTime(1);
    expect(t.writes).toEqual(["a\nb\nc\n", "d\n"]);
  });

  it("hands a batch over at once when it reaches maxChars, and runs no timer while nothing waits", () => {
    vi.useFakeTimers();
    const t = target();
    const d = batchedDestination(t, { maxDelayMs: 1000, maxChars: 10 });
    d.write("12345\n");
    expect(vi.getTimerCount()).toBe(1);
    d.write("6789\n");
    expect(t.writes).toEqual(["12345\n6789\n"]);
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(5000);
    expect(t.writes).toHaveLength(1);
  });

  it("flush and flushSync hand over what waits and pass the flush on to the target", () => {
    vi.useFakeTimers();
    const t = target();
    const d = batchedDestination(t, { maxDelayMs: 1000 });
    const done = vi.fn();
    d.write("x\n");
    d.flush(done);
    expect(t.writes).toEqual(["x\n"]);
    expect([t.flushes, done.mock.calls.length, vi.getTimerCount()]).toEqual([1, 1, 0]);
    d.write("y\n");
    d.flushSync();
    expect(t.writes).toEqual(["x\n", "y\n"]);
    expect(t.syncFlushes).toBe(1);
    // Nothing waiting: nothing written.
    d.flushSync();
    expect(t.writes).toHaveLength(2);
  });

  it("flushSync writes what waits before it returns — after what the target already holds — not by an asynchronous write", () => {
    // A target like sonic-boom: `write` starts a write that ends later (at exit: maybe never),
    // `flushSync` writes only what it holds and has not started, `writeSync` writes at once.
    const disk: string[] = [];
    let held: string[] = [];
    const inFlight: string[] = [];
    const t: BatchTarget = {
      write: (text) => void inFlight.push(text),
      flushSync: () => {
        disk.push(...held);
        held = [];
      },
      writeSync: (text) => void disk.push(text),
    };
    const d = batchedDestination(t, { maxDelayMs: 1000 });
    held = ["earlier\n"];
    d.write("a\n");
    d.write("b\n");
    d.flushSync();
    expect({ disk, inFlight }).toEqual({ disk: ["earlier\n", "a\nb\n"], inFlight: [] });
    // Nothing waiting: nothing written.
    d.flushSync();
    expect(disk).toHaveLength(2);
  });

  it("writes what waits when the process leaves: exit(), an uncaught error, or an empty event loop", async () => {
    const child = fileURLToPath(new URL("./batched-destination.child.ts", import.meta.url));
    // What a child printed, its exit code and its stderr (in the failure message: a child that
    // failed under load once left nothing to read).
    const lines = async (how: string, env?: Record<string, string>) => {
      const result = await promisify(execFile)(process.execPath, ["--import", "tsx", child, how], { env: { ...process.env, ...env } }).catch((err: { stdout?: string; stderr?: string; code?: number | null }) => err);
      const msgs = (result.stdout ?? "")
        .trim()
        .split("\n")
        .filter((l) => l !== "")
        .map((l) => {
          try {
            return (JSON.parse(l) as { msg: string }).msg;
          } catch {
            return `(not a log line) ${l}`;
          }
        });
      return { outcome: { code: "code" in result ? result.code : 0, msgs }, stderr: `${how}: ${result.stderr ?? ""}` };
    };
    // The pool's one thread busy as the process leaves: what a loaded machine does by chance (an
    // asynchronous write still queued is cancelled when the loop runs dry), here every time.
    const [exit, thrown, idle, busy] = await Promise.all([
      lines("exit"),
      lines("throw"),
      lines("idle"),
      lines("idle-busy-pool", { UV_THREADPOOL_SIZE: "1" }),
    ]);
    expect(exit.outcome, exit.stderr).toEqual({ code: 3, msgs: ["line 1", "line 2", "line 3"] });
    expect(thrown.outcome, thrown.stderr).toEqual({ code: 1, msgs: ["line 1", "line 2", "line 3"] });
    expect(idle.outcome, idle.stderr).toEqual({ code: 0, msgs: ["line 1", "line 2", "line 3"] });
    expect(busy.outcome, busy.stderr).toEqual({ code: 0, msgs: ["line 1", "line 2", "line 3"] });
  });
});
