import { describe, expect, it } from "vitest";
import { checkContainment, checkCoolDown, checkLag, checkMemory } from "./checkers-faults.js";
import type { Op } from "./history.js";
import type { NemesisEvent } from "./nemesis.js";
import type { MemorySample } from "./replica.js";

const MB = 2 ** 20;
const MINUTE = 60_000;

/** One sample every 5 s from `from` to `to` minutes, RSS growing `pctPerHour` from `baseMb`. */
function series(replica: number, pid: number, from: number, to: number, baseMb: number, pctPerHour: number): MemorySample[] {
  const out: MemorySample[] = [];
  for (let t = from * MINUTE; t <= to * MINUTE; t += 5_000) {
    out.push({ replica, pid, t, rssBytes: baseMb * MB * (1 + (pctPerHour / 100) * ((t - from * MINUTE) / 3_600_000)) });
  }
  return out;
}

describe("P24 memory checker", () => {
  const opts = { maxPeakBytes: 400 * MB, maxSlopePctPerHour: 10 };

  it("bounds the slope of a process that lived through the run, and only reports a restarted replica's", () => {
    // Replica 1 restarted at 8 minutes: its longest-lived process is the first one (0–8 min),
    // replica 2 at 3 and 6 minutes: its longest process (6–10 min) starts with its own warm-up.
    const samples = [...series(0, 100, 0, 10, 200, 2), ...series(1, 101, 0, 8, 200, 3), ...series(1, 111, 8.1, 10, 150, 400), ...series(2, 102, 0, 3, 200, 0), ...series(2, 112, 3.1, 6, 180, 0), ...series(2, 122, 6.1, 10, 150, 300)];
    const row = checkMemory(samples, opts);
    expect(row.status).toBe("pass");
    expect(row.figure).toMatch(/r0 \d+ MB \+2 %\/h; r1 \d+ MB \+3 %\/h; r2 \d+ MB \+\d+ %\/h \(restarted: reported only\)/);
  });

  it("fails when the whole-run process grows faster than the bound, or the peak passes its bound", () => {
    expect(checkMemory([...series(0, 100, 0, 10, 200, 25), ...series(1, 101, 0, 10, 200, 0)], opts).status).toBe("fail");
    expect(checkMemory(series(0, 100, 0, 10, 390, 500), opts).status).toBe("fail");
  });

  it("bounds the whole-run process's retained heap beside its RSS", () => {
    // The old generation's objects after each full collection, flat at 40 MB or rising 1 MB a minute.
    const withHeap = (mbAt: (minute: number) => number) => series(0, 100, 0, 10, 200, 2).map((s) => ({ ...s, heapRetainedBytes: mbAt(s.t / MINUTE) * MB }));
    const bounded = { ...opts, maxRetainedSlopePctPerHour: 2 };
    const flat = checkMemory(withHeap(() => 40), bounded);
    expect(flat.figure).toMatch(/r0 \d+ MB \+2 %\/h, heap retained 40 → 40 MB \+0 %\/h \(bound 2\);/);
    const rising = checkMemory(withHeap((minute) => 40 + minute), bounded);
    expect(rising.figure).toMatch(/heap retained 4\d → 50 MB \+1\d\d %\/h/);
    expect([flat.status, rising.status]).toEqual(["pass", "fail"]);
    // Without a retained bound (a run under an hour) the slope is reported, not held.
    const reported = checkMemory(withHeap((minute) => 40 + minute), opts);
    expect([reported.status, reported.figure]).toEqual(["pass", expect.stringMatching(/heap retained 4\d → 50 MB \+1\d\d %\/h: reported only;/) as unknown]);
  });

  it("reports the slope without bounding it in a short run", () => {
    const row = checkMemory(series(0, 100, 0, 2, 200, 100), { maxPeakBytes: 400 * MB });
    expect([row.status, row.figure]).toEqual(["pass", expect.stringContaining("slope reported only") as unknown]);
  });

  it("holds replica 0's memory after the load to its level under load after warm-up", () => {
    // 10 minutes at 200 MB of RSS and 40 MB retained: the baseline is the start of the slope's window.
    const samples = series(0, 100, 0, 10, 200, 0).map((s) => ({ ...s, heapRetainedBytes: 40 * MB }));
    const back = checkCoolDown(samples, { rssBytes: 215 * MB, heapRetainedBytes: 42 * MB, minutes: 5 }, 10);
    expect([back.status, back.figure]).toEqual(["pass", "r0 5 min after the load: RSS 215 MB (under load after warm-up 200), heap retained 42 MB (40); bound +10 %"]);
    expect(checkCoolDown(samples, { rssBytes: 225 * MB, heapRetainedBytes: 40 * MB, minutes: 5 }, 10).status).toBe("fail");
    expect(checkCoolDown(samples, { rssBytes: 200 * MB, heapRetainedBytes: 45 * MB, minutes: 5 }, 10).status).toBe("fail");
    // Open descriptors: within 10 % or 5 of the baseline.
    const withFds = samples.map((s) => ({ ...s, fds: 40 }));
    expect(checkCoolDown(withFds, { rssBytes: 200 * MB, fds: 45, minutes: 5 }, 10).status).toBe("pass");
    expect(checkCoolDown(withFds, { rssBytes: 200 * MB, fds: 46, minutes: 5 }, 10)).toMatchObject({ status: "fail", figure: expect.stringContaining("46 open fds (40)") as unknown });
    // Only replica 0's process is the baseline: another replica's larger RSS does not raise it.
    expect(checkCoolDown([...samples, ...series(1, 101, 0, 10, 400, 0)], { rssBytes: 300 * MB, minutes: 5 }, 10).status).toBe("fail");
  });

  it("allows replica 0's event loop a slow interval in twenty, not more", () => {
    // 121 intervals, the first 30 % (36) warm-up, ignored even when slow: 85 after it.
    const lagged = (slowAfterWarmUp: number) =>
      series(0, 100, 0, 10, 200, 0).map((s, i) => ({ ...s, lagP99Seconds: i < 36 ? 0.3 : i < 36 + slowAfterWarmUp ? 0.08 : 0.012 }));
    const ok = checkLag(lagged(4), 50);
    expect([ok.status, ok.figure]).toEqual(["pass", "r0, 85 intervals: p99 per interval median 12.0 ms, worst 80.0 ms; 4 at 50 ms or more (allowed 4)"]);
    expect(checkLag(lagged(5), 50).status).toBe("fail");
    expect(checkLag(lagged(5), 50, false)).toMatchObject({ status: "pass", figure: expect.stringContaining("5 at 50 ms or more (reported only: short run)") as unknown });
    expect(checkLag([], 50).status).toBe("fail");
  });
});

describe("P16 SIGTERM checker", () => {
  const op = (n: number, replica: number, t: number, type: Op["type"]): Op => ({ process: n, type, request_id: `op-${n}`, kind: "chat", key: "app", replica, t_start: t, t_end: t + 500 });
  const term = (replica: number, t: number, exitMs: number, exitCode: number | null = 0): NemesisEvent => ({ name: "term", replica, t_start: t, t_end: t + exitMs, exitMs, exitCode });

  it("summarises every exit in one figure, however many SIGTERMs the run sent", () => {
    const events = Array.from({ length: 40 }, (_, i) => term(i % 3, 10_000 * (i + 1), 900 + i * 10));
    const ops = events.map((e, i) => op(i, e.replica ?? 0, e.t_start - 300, "ok"));
    const [, sigterm] = checkContainment(ops, events, 10_000);
    expect([sigterm?.status, sigterm?.figure]).toEqual(["pass", "40 in flight at SIGTERM, 0 failed; 40 exits: code 0 ×40, 900–1290 ms"]);
  });

  it("fails on an exit with a non-zero code or past the grace, and names both", () => {
    const events = [term(0, 10_000, 900), term(1, 20_000, 1_000, 1), term(2, 30_000, 16_000)];
    const ops = events.map((e, i) => op(i, e.replica ?? 0, e.t_start - 300, "ok"));
    const [, sigterm] = checkContainment(ops, events, 10_000);
    expect([sigterm?.status, sigterm?.figure]).toEqual(["fail", "3 in flight at SIGTERM, 2 failed; 3 exits: code 0 ×2, code 1 ×1, 900–16000 ms"]);
    const [, one] = checkContainment(ops.slice(0, 1), events.slice(0, 1), 10_000);
    expect(one?.figure).toBe("1 in flight at SIGTERM, 0 failed; 1 exit: code 0 ×1, 900 ms");
  });
});
