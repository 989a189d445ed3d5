import { describe, expect, it } from "vitest";
import type { UsageRecordRow } from "../../server/store/usage-store.js";
import { checkContainment, checkCoolDown, checkDeadlines, checkLag, checkMemory, checkRedisHang, checkStalls } from "./checkers-faults.js";
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

describe("P16 kill -9 checker", () => {
  const op = (n: number, replica: number, t: number, type: Op["type"], extra: Partial<Op> = {}): Op => ({ process: n, type, request_id: `op-${n}`, kind: "chat", key: "app", replica, t_start: t, t_end: t + 500, ...extra });
  // Replica 1 killed at 10 s, its restart begun at 15 s and ready at 20 s.
  const kill: NemesisEvent = { name: "kill", replica: 1, t_start: 10_000, t_restart: 15_000, t_end: 20_000 };
  const check = (ops: Op[]) => checkContainment(ops, [kill], 10_000)[0]!;

  it("passes when every clean op on the other replicas succeeded, whatever happened on the killed one", () => {
    const ops = [op(1, 0, 9_800, "ok"), op(2, 2, 12_000, "ok"), op(3, 1, 9_900, "info", { code: "transport" }), op(4, 1, 11_000, "fail", { code: "unavailable" })];
    expect(check(ops)).toMatchObject({ status: "pass", figure: "2 clean ops on surviving replicas during the kill, 0 failed; 1 in flight on the killed replica" });
  });

  it("fails a clean op on another replica that failed during the kill — until the restart begins — and names it", () => {
    const ops = [op(1, 0, 9_800, "ok"), op(2, 2, 14_000, "fail", { code: "unavailable", message: "upstream gone" })];
    expect(check(ops)).toMatchObject({ status: "fail", evidence: ["op-2 chat r2 fail unavailable 500ms upstream gone"] });
    // After the restart began, a failure is the restart's, not the kill's.
    expect(check([op(1, 0, 9_800, "ok"), op(2, 2, 15_100, "fail")]).status).toBe("pass");
  });

  it("excuses ops that asked for a failure, were aborted by their client, or used another key", () => {
    const ops = [op(1, 0, 9_800, "ok"), op(2, 2, 12_000, "fail", { fault: "cut" }), op(3, 2, 12_000, "info", { aborted: true }), op(4, 0, 12_000, "fail", { key: "capped" }), op(5, 0, 12_000, "ok", { fault: "drip" })];
    expect(check(ops)).toMatchObject({ status: "pass", figure: expect.stringContaining("2 clean ops on surviving replicas") as unknown });
  });

  it("fails when no clean op ran on another replica during the kill (nothing was shown)", () => {
    expect(check([op(1, 1, 9_900, "info"), op(2, 0, 30_000, "ok")]).status).toBe("fail");
  });
});

describe("P16 SIGTERM drain, in-flight requests", () => {
  const term: NemesisEvent = { name: "term", replica: 0, t_start: 10_000, t_end: 11_000, exitMs: 1_000, exitCode: 0 };
  const op = (n: number, t: number, type: Op["type"], extra: Partial<Op> = {}): Op => ({ process: n, type, request_id: `op-${n}`, kind: "stream", key: "app", replica: 0, t_start: t, t_end: t + 500, ...extra });

  it("fails a clean request in flight at the SIGTERM that did not complete", () => {
    const [, ok] = checkContainment([op(1, 9_600, "ok"), op(2, 9_700, "ok")], [term], 10_000);
    expect(ok?.status).toBe("pass");
    const [, cut] = checkContainment([op(1, 9_600, "ok"), op(2, 9_700, "fail", { code: "unavailable" })], [term], 10_000);
    expect(cut).toMatchObject({ status: "fail", evidence: ["op-2 stream r0 fail unavailable 500ms"] });
    // One sent within 200 ms of the signal may not have reached the replica: not counted.
    const [, late] = checkContainment([op(1, 9_600, "ok"), op(2, 9_900, "fail")], [term], 10_000);
    expect(late).toMatchObject({ status: "pass", figure: expect.stringContaining("1 in flight at SIGTERM, 0 failed") as unknown });
  });

  it("fails a drain with nothing in flight (nothing was shown)", () => {
    expect(checkContainment([op(1, 12_000, "ok")], [term], 10_000)[1]?.status).toBe("fail");
  });
});

describe("P7 Redis hang checker", () => {
  const hang: NemesisEvent = { name: "redis_hang", t_start: 10_000, t_end: 20_000 };
  const op = (n: number, t: number, took: number, type: Op["type"], extra: Partial<Op> = {}): Op => ({ process: n, type, request_id: `op-${n}`, kind: "chat", key: "app", replica: 0, t_start: t, t_end: t + took, ...extra });

  it("passes unary calls during the hang that ended within the bound, and fails one that waited past it", () => {
    const ok = checkRedisHang([op(1, 10_000, 300, "ok"), op(2, 15_000, 5_000, "fail", { code: "unavailable" })], [hang], 5000);
    expect(ok).toMatchObject({ status: "pass", figure: "2 unary calls during the hang, slowest 5000 ms (bound 5000); 1 ok, 1 refused" });
    const slow = checkRedisHang([op(1, 10_000, 300, "ok"), op(2, 15_000, 5_001, "fail", { code: "unavailable" })], [hang], 5000);
    expect(slow).toMatchObject({ status: "fail", evidence: ["op-2 chat r0 fail unavailable 5001ms"] });
  });

  it("holds both front doors' unary calls to the bound", () => {
    expect(checkRedisHang([op(1, 12_000, 6_000, "ok", { kind: "openai", code: "ok" })], [hang], 5000)).toMatchObject({ status: "fail", evidence: ["op-1 openai r0 ok ok 6000ms"] });
  });

  it("counts only clean unary calls begun during the hang", () => {
    // Before it, after it, a stream, a fault asked for, a client abort: none is held to the bound.
    const others = [op(1, 9_999, 9_000, "ok"), op(2, 20_001, 9_000, "ok"), op(3, 12_000, 9_000, "ok", { kind: "stream" }), op(4, 12_000, 9_000, "fail", { fault: "stall" }), op(5, 12_000, 9_000, "info", { aborted: true })];
    expect(checkRedisHang([...others, op(6, 19_000, 100, "ok")], [hang], 5000)).toMatchObject({ status: "pass", figure: expect.stringContaining("1 unary calls during the hang") as unknown });
  });

  it("fails when no unary call ran during the hang", () => {
    expect(checkRedisHang([op(1, 30_000, 100, "ok")], [hang], 5000).status).toBe("fail");
  });
});

describe("P13 stall checker", () => {
  const stall = (n: number, t: number, took: number, type: Op["type"], extra: Partial<Op> = {}): Op => ({ process: n, type, request_id: `s${n}`, kind: "stream", key: "app", replica: 0, fault: "stall", t_start: t, t_end: t + took, ...extra });
  const stalled = (n: number, attemptNo = 1) => ({ provider: "openai", tag: `s${n}`, attemptNo, stream: true, fault: "stall", at: 0 });
  const ledgerRow = (n: number, attempt: number) => ({ requestId: `s${n}`, attempt }) as UsageRecordRow;
  const storm: NemesisEvent = { name: "storm", t_start: 50_000, t_end: 60_000, t_ready: 70_000 };

  it("passes stalls cut and failed over within the bound", () => {
    const row = checkStalls([stall(1, 0, 3_000, "ok"), stall(2, 10_000, 10_000, "ok")], [stalled(1), stalled(2)], [], [storm], 10_000);
    expect(row).toMatchObject({ status: "pass", figure: expect.stringMatching(/^2 stalled streams, slowest 10000 ms \(bound 10000\); 2 answered, 2 in quiet windows/) as unknown });
  });

  it("holds both front doors' streams to it", () => {
    expect(checkStalls([stall(1, 0, 12_000, "ok", { kind: "openai_stream", code: "ok" })], [stalled(1)], [], [], 10_000)).toMatchObject({ status: "fail", evidence: ["s1 openai_stream r0 ok ok 12000ms"] });
  });

  it("fails a stall that outlived the bound, even answered or in a fault's window", () => {
    expect(checkStalls([stall(1, 0, 10_001, "ok", { code: "ok" })], [stalled(1)], [], [], 10_000)).toMatchObject({ status: "fail", evidence: ["s1 stream r0 ok ok 10001ms"] });
    expect(checkStalls([stall(1, 55_000, 10_001, "fail")], [stalled(1)], [], [storm], 10_000).status).toBe("fail");
  });

  it("fails a stall in a quiet window that was not answered; excuses one while a storm recovers", () => {
    expect(checkStalls([stall(1, 0, 3_000, "fail", { code: "unavailable" })], [stalled(1)], [], [storm], 10_000)).toMatchObject({ status: "fail", evidence: ["s1 stream r0 fail unavailable 3000ms"] });
    // The storm ended at 60 s but its breakers closed only at 70 s: not yet quiet.
    expect(checkStalls([stall(1, 65_000, 3_000, "fail")], [stalled(1)], [], [storm], 10_000)).toMatchObject({ status: "pass", figure: expect.stringContaining("0 in quiet windows") as unknown });
  });

  it("excuses an unanswered quiet stall only when the gateway spent more attempts than the fake read", () => {
    const failed = [stall(1, 0, 3_000, "fail")];
    // Two ledger rows, one request the fake read (the stalled one, the gateway's last allowed).
    expect(checkStalls(failed, [stalled(1)], [ledgerRow(1, 1), ledgerRow(1, 2)], [], 10_000)).toMatchObject({ status: "pass", figure: expect.stringContaining("1 stalled after an attempt the fake never read (info)") as unknown });
    // As many rows as requests: no excuse.
    expect(checkStalls(failed, [stalled(1), stalled(1, 2)], [ledgerRow(1, 1), ledgerRow(1, 2)], [], 10_000).status).toBe("fail");
  });

  it("does not hold an op to the stall bound when no attempt of it stalled (refused before dispatch)", () => {
    expect(checkStalls([stall(1, 0, 3_000, "fail", { code: "unavailable" })], [], [], [], 10_000)).toMatchObject({ status: "pass", figure: expect.stringContaining("1 asked for a stall never reached a stalling provider") as unknown });
  });
});

describe("P12 deadline checker", () => {
  const op = (took: number): Op => ({ process: 1, type: "info", request_id: "d", kind: "stream", key: "app", replica: 0, t_start: 0, t_end: took, code: "deadline_exceeded" });

  it("allows the deadline plus 2 s of slack, and fails a later end or an op that never ended", () => {
    expect(checkDeadlines([op(32_000)], 0, 30_000)).toMatchObject({ status: "pass", figure: "1 ops, slowest 32000 ms (deadline 30000); 0 never ended" });
    expect(checkDeadlines([op(32_001)], 0, 30_000)).toMatchObject({ status: "fail", evidence: ["d stream r0 info deadline_exceeded 32001ms"] });
    expect(checkDeadlines([op(100)], 1, 30_000)).toMatchObject({ status: "fail", figure: expect.stringContaining("1 never ended") as unknown });
  });
});

describe("P24 memory checker, nothing sampled", () => {
  it("fails without a single sample", () => {
    expect(checkMemory([], { maxPeakBytes: 400 * MB }).status).toBe("fail");
  });
});

describe("fault checkers: what a lenient or over-strict reading would get wrong", () => {
  const op = (n: number, replica: number, t: number, type: Op["type"], extra: Partial<Op> = {}): Op => ({ process: n, type, request_id: `op-${n}`, kind: "stream", key: "app", replica, t_start: t, t_end: t + 500, ...extra });
  const term = (extra: Partial<NemesisEvent> = {}): NemesisEvent => ({ name: "term", replica: 0, t_start: 10_000, t_end: 11_000, exitMs: 1_000, exitCode: 0, ...extra });
  const drain = (events: NemesisEvent[], ops: Op[] = [op(1, 0, 9_600, "ok")]) => checkContainment(ops, events, 10_000)[1]!;

  it("P16 SIGTERM: allows the grace plus 5 s to exit and not a millisecond more; an exit never seen or by a signal fails", () => {
    expect(drain([term({ exitMs: 15_000 })]).status).toBe("pass");
    expect(drain([term({ exitMs: 15_001 })]).status).toBe("fail");
    const { exitMs: _never, ...unseen } = term();
    expect(drain([unseen]).status).toBe("fail");
    expect(drain([term({ exitCode: null })])).toMatchObject({ status: "fail", evidence: ["replica 0: exit code null after 1000 ms"] });
  });

  it("P16 SIGTERM: counts only the signalled replica's clean requests as in flight", () => {
    const ops = [op(1, 0, 9_600, "ok"), op(2, 0, 9_600, "fail", { fault: "midstream" }), op(3, 0, 9_600, "info", { aborted: true }), op(4, 1, 9_600, "fail", { code: "unavailable" })];
    expect(drain([term()], ops)).toMatchObject({ status: "pass", figure: expect.stringContaining("1 in flight at SIGTERM, 0 failed") as unknown });
  });

  it("P7: holds a unary call begun at the hang's last instant to the bound", () => {
    const hang: NemesisEvent = { name: "redis_hang", t_start: 10_000, t_end: 20_000 };
    const calls = [op(1, 0, 12_000, "ok", { kind: "chat" }), op(2, 0, 20_000, "fail", { kind: "chat", code: "unavailable", t_end: 26_000 })];
    expect(checkRedisHang(calls, [hang], 5000)).toMatchObject({ status: "fail", evidence: ["op-2 chat r0 fail unavailable 6000ms"] });
  });

  it("P13: does not hold a stall to an answer when its client aborted it or its key's budget refused the retry", () => {
    const stalled = (n: number) => ({ provider: "openai", tag: `op-${n}`, attemptNo: 1, stream: true, fault: "stall", at: 0 });
    const ops = [op(1, 0, 0, "ok", { fault: "stall" }), op(2, 0, 0, "info", { fault: "stall", aborted: true, code: "client_abort" }), op(3, 0, 0, "fail", { fault: "stall", key: "capped", code: "resource_exhausted" })];
    expect(checkStalls(ops, [stalled(1), stalled(2), stalled(3)], [], [], 10_000)).toMatchObject({ status: "pass", figure: expect.stringMatching(/^1 stalled streams,/) as unknown });
  });

  it("P24 memory: fails a peak over its bound by itself, and a slope just over its bound", () => {
    const flat = (mb: number) => series(0, 100, 0, 10, mb, 0);
    expect(checkMemory(flat(400), { maxPeakBytes: 400 * MB }).status).toBe("pass");
    expect(checkMemory(flat(401), { maxPeakBytes: 400 * MB }).status).toBe("fail");
    expect(checkMemory(series(0, 100, 0, 10, 200, 12), { maxPeakBytes: 400 * MB, maxSlopePctPerHour: 10 }).status).toBe("fail");
  });

  it("P24 memory: the slope is read after warm-up, not across the warm-up's climb", () => {
    // 100 → 200 MB over the first 3 minutes (the first 30 % of the samples), flat at 200 after.
    const climb = series(0, 100, 0, 10, 200, 0).map((s) => ({ ...s, rssBytes: s.t < 3 * MINUTE ? (100 + (100 * s.t) / (3 * MINUTE)) * MB : 200 * MB }));
    expect(checkMemory(climb, { maxPeakBytes: 400 * MB, maxSlopePctPerHour: 10 })).toMatchObject({ status: "pass", figure: expect.stringContaining("r0 200 MB +0 %/h") as unknown });
  });

  it("P24 recovery: the baseline is the level just after warm-up (a leak under load does not raise it), robust to a dip, and required", () => {
    // Leaking 300 %/h under load: 230 MB just after warm-up, 300 MB at the end.
    const leaking = series(0, 100, 0, 10, 200, 300);
    expect(checkCoolDown(leaking, { rssBytes: 270 * MB, minutes: 5 }, 10).status).toBe("fail");
    // A collection's dip in the first samples after warm-up does not become the baseline.
    const dipped = series(0, 100, 0, 10, 200, 0).map((s, i) => ({ ...s, rssBytes: i >= 36 && i < 39 ? 100 * MB : s.rssBytes }));
    expect(checkCoolDown(dipped, { rssBytes: 210 * MB, minutes: 5 }, 10)).toMatchObject({ status: "pass", figure: expect.stringContaining("(under load after warm-up 200)") as unknown });
    expect(checkCoolDown([], { rssBytes: 100 * MB, minutes: 5 }, 10).status).toBe("fail");
  });

  it("P24 lag: an interval at exactly the bound counts, only replica 0 is read, and fewer than 5 intervals prove nothing", () => {
    const lagged = (replica: number, to: number, slow: (i: number) => boolean) => series(replica, 100 + replica, 0, to, 200, 0).map((s, i) => ({ ...s, lagP99Seconds: slow(i) ? 0.05 : 0.012 }));
    expect(checkLag(lagged(0, 10, (i) => i >= 36 && i < 41), 50)).toMatchObject({ status: "fail", figure: expect.stringContaining("5 at 50 ms or more (allowed 4)") as unknown });
    // Replica 1 lived longer and lagged throughout: not replica 0's loop.
    expect(checkLag([...lagged(0, 10, () => false), ...lagged(1, 20, () => true)], 50).status).toBe("pass");
    // 5 samples: 4 after warm-up.
    expect(checkLag(lagged(0, 20_000 / MINUTE, () => false), 50)).toMatchObject({ status: "fail", figure: expect.stringContaining("r0, 4 intervals") as unknown });
  });
});
