/**
 * The fault checkers over the history: no spliced or falsely successful stream (P14), a kill
 * contained to its replica and a drain without client errors (P16), Redis hangs bounded (P7),
 * stalls cut and failed over (P13), every operation ended within its deadline (P12), in-flight
 * shedding immediate (P23, when the gateway has the knob), flat memory, event-loop lag and the
 * return to baseline after the load (P24; the stores' P24 rows are `checkers-stores.ts`').
 */
import type { UsageRecordRow } from "../../server/store/usage-store.js";
import { groupBy } from "./group-by.js";
import type { Op } from "./history.js";
import type { NemesisEvent } from "./nemesis.js";
import { row, type PropertyRow } from "./property-row.js";
import type { MemorySample } from "./replica.js";
import { attemptText } from "./attempt-text.js";
import type { AttemptRecord } from "./soak-providers.js";

/** A clean op: no failure asked of the provider, no client abort, the unlimited key. */
export function isClean(op: Op): boolean {
  return (op.fault === undefined || op.fault === "drip") && op.aborted !== true && op.key === "app";
}

const describe = (o: Op) => `${o.request_id} ${o.kind} r${o.replica} ${o.type} ${o.code ?? ""} ${o.t_end - o.t_start}ms ${o.message ?? ""}`.trim();

/** P14, checked as each operation ends (so the history need not keep every answer's text). */
export interface SpliceCheck {
  /** Checks one ended operation's text against the attempts its tag had by then. */
  observe(op: Op, attempts: readonly AttemptRecord[]): void;
  /** The row, once every operation was observed. */
  row(): PropertyRow;
}

/**
 * P14: every answer's text comes from one upstream attempt; a success is a whole attempt's text,
 * never one whose stream was cut; a failure's text is a prefix of one attempt's. An attempt is
 * recorded when the fake decides it, before it sends a byte, so an operation's attempts are all
 * known when it ends.
 */
export function createSpliceCheck(): SpliceCheck {
  const bad: string[] = [];
  let whole = 0;
  let prefixes = 0;
  return {
    observe(op, mine) {
      const text = op.text ?? "";
      const stream = op.kind === "stream" || op.kind === "openai_stream";
      if (op.type === "ok") {
        const source = mine.find((a) => attemptText(a) === text);
        if (source === undefined) bad.push(`${describe(op)}: a success whose text is no attempt's whole answer: "${text.slice(0, 80)}"`);
        else if (source.fault === "cut" || source.fault === "midstream") bad.push(`${describe(op)}: a success from an attempt that was ${source.fault}`);
        else whole++;
        if (stream && (op.fault === "cut" || op.fault === "midstream")) bad.push(`${describe(op)}: a cut stream reported success`);
      } else if (text !== "") {
        if (mine.some((a) => attemptText(a).startsWith(text))) prefixes++;
        else bad.push(`${describe(op)}: partial text from no single attempt: "${text.slice(0, 80)}"`);
      }
    },
    row: () => row("P14", "no spliced stream, no clean truncated success", `${whole} successes = one attempt's whole text; ${prefixes} failures = a prefix of one attempt; ${bad.length} violations`, bad.length === 0 && whole > 0, bad),
  };
}

/** P16: a SIGKILL touches only its own replica's clients; a SIGTERM drains with no client error. */
export function checkContainment(ops: readonly Op[], events: readonly NemesisEvent[], graceMs: number): PropertyRow[] {
  const killBad: string[] = [];
  let survivors = 0;
  let victims = 0;
  for (const e of events.filter((x) => x.name === "kill")) {
    // The kill's window: until the restart begins (a start's CPU burst on 2 cores is not the kill).
    const end = e.t_restart ?? e.t_end;
    for (const op of ops) {
      if (op.t_start > end || op.t_end < e.t_start) continue;
      if (op.replica === e.replica) {
        if (op.t_start <= e.t_start) victims++;
        continue;
      }
      if (!isClean(op)) continue;
      survivors++;
      if (op.type !== "ok") killBad.push(describe(op));
    }
  }
  const termBad: string[] = [];
  let drained = 0;
  const exits: { code: number | null | undefined; ms: number }[] = [];
  for (const e of events.filter((x) => x.name === "term")) {
    exits.push({ code: e.exitCode, ms: e.exitMs ?? Infinity });
    if (e.exitCode !== 0 || (e.exitMs ?? Infinity) > graceMs + 5000) termBad.push(`replica ${e.replica}: exit code ${e.exitCode} after ${e.exitMs} ms`);
    for (const op of ops) {
      // In flight at the SIGTERM (sent well before it, so it reached the replica).
      if (op.replica !== e.replica || op.t_start > e.t_start - 200 || op.t_end < e.t_start || !isClean(op)) continue;
      drained++;
      if (op.type !== "ok") termBad.push(describe(op));
    }
  }
  return [
    row("P16", "kill -9: other replicas' clients unaffected", `${survivors} clean ops on surviving replicas during the kill, ${killBad.length} failed; ${victims} in flight on the killed replica`, killBad.length === 0 && survivors > 0, killBad),
    row("P16", "SIGTERM: in-flight requests drain, exit in time", `${drained} in flight at SIGTERM, ${termBad.length} failed; ${exitSummary(exits)}`, termBad.length === 0 && exits.length > 0 && drained > 0, termBad),
  ];
}

/** "3 exits: code 0 ×3, 987–2201 ms" — one figure however many SIGTERMs a long run sends. */
function exitSummary(exits: readonly { code: number | null | undefined; ms: number }[]): string {
  if (exits.length === 0) return "no SIGTERM sent";
  const codes = groupBy(exits, (e) => String(e.code));
  let min = Infinity;
  let max = -Infinity;
  for (const e of exits) {
    min = Math.min(min, e.ms);
    max = Math.max(max, e.ms);
  }
  const byCode = [...codes].map(([code, list]) => `code ${code} ×${list.length}`).join(", ");
  return `${exits.length} exit${exits.length === 1 ? "" : "s"}: ${byCode}, ${min === max ? max : `${min}–${max}`} ms`;
}

/** P7: while Redis is hung no unary call waits on it past a bound; figures of what was admitted. */
export function checkRedisHang(ops: readonly Op[], events: readonly NemesisEvent[], boundMs: number): PropertyRow {
  const bad: string[] = [];
  let n = 0;
  let ok = 0;
  let max = 0;
  for (const e of events.filter((x) => x.name === "redis_hang")) {
    for (const op of ops) {
      if (op.t_start < e.t_start || op.t_start > e.t_end || op.fault !== undefined || op.aborted === true) continue;
      if (op.kind !== "chat" && op.kind !== "openai") continue;
      n++;
      if (op.type === "ok") ok++;
      const took = op.t_end - op.t_start;
      max = Math.max(max, took);
      if (took > boundMs) bad.push(describe(op));
    }
  }
  return row("P7", "Redis hung: calls bounded, fail closed", `${n} unary calls during the hang, slowest ${max} ms (bound ${boundMs}); ${ok} ok, ${n - ok} refused`, bad.length === 0 && n > 0, bad);
}

/**
 * P13: a stream that stalls before its first delta is cut and fails over to an answer. A stream
 * stalled only if the provider fake stalled one of its attempts: one the gateway refused before
 * dispatch (a budget or rate-limit check failing closed, e.g. while the Redis breaker is still
 * open just after a hang) never reached a provider, and one whose first attempt a storm failed
 * with a status was never stalled: neither proves anything about stall handling, so they are
 * counted apart (P12 still bounds their time). Every stalled one must end within the bound, and in
 * a quiet window (no fault active or recovering — a storm recovers until every replica's breaker
 * of the stormed provider has closed again, since until then the route has one target left and a
 * stall on it has nowhere to fail over) must be answered — unless the gateway had spent
 * attempts the fake never read (a reset keep-alive connection: more ledger rows than fake
 * attempts), because the fake stalls the first attempt IT sees, which may then be the gateway's
 * last allowed one; those are counted as indeterminate.
 */
export function checkStalls(ops: readonly Op[], attempts: readonly AttemptRecord[], ledger: readonly UsageRecordRow[], events: readonly NemesisEvent[], boundMs: number): PropertyRow {
  const quiet = (o: Op) => !events.some((e) => o.t_end >= e.t_start && o.t_start <= (e.t_ready ?? e.t_end));
  const seen = new Map<string, number>();
  for (const a of attempts) seen.set(a.tag, (seen.get(a.tag) ?? 0) + 1);
  const sent = new Map<string, number>();
  for (const r of ledger) if (r.attempt >= 1) sent.set(r.requestId, (sent.get(r.requestId) ?? 0) + 1);
  const stalledTags = new Set(attempts.filter((a) => a.fault === "stall").map((a) => a.tag));
  const asked = ops.filter((o) => o.fault === "stall" && (o.kind === "stream" || o.kind === "openai_stream") && o.aborted !== true && o.key === "app");
  const stalls = asked.filter((o) => stalledTags.has(o.request_id));
  const unseenFirst = (o: Op) => (sent.get(o.request_id) ?? 0) > (seen.get(o.request_id) ?? 0);
  const excused = stalls.filter((o) => quiet(o) && o.type !== "ok" && unseenFirst(o));
  const bad = stalls.filter((o) => o.t_end - o.t_start > boundMs || (quiet(o) && o.type !== "ok" && !unseenFirst(o))).map(describe);
  const slowest = stalls.reduce((m, o) => Math.max(m, o.t_end - o.t_start), 0);
  const answered = stalls.filter((o) => o.type === "ok").length;
  return row(
    "P13",
    "stalled streams cut and failed over",
    `${stalls.length} stalled streams, slowest ${slowest} ms (bound ${boundMs}); ${answered} answered, ${stalls.filter(quiet).length} in quiet windows; ${excused.length} stalled after an attempt the fake never read (info); ${asked.length - stalls.length} asked for a stall never reached a stalling provider (refused before dispatch, or a storm answered first)`,
    bad.length === 0,
    [...bad, ...excused.map((o) => `info: ${describe(o)}`)],
  );
}

/** P12: every operation ended within its client deadline (plus slack); none left open. */
export function checkDeadlines(ops: readonly Op[], open: number, timeoutMs: number): PropertyRow {
  const late = ops.filter((o) => o.t_end - o.t_start > timeoutMs + 2000).map(describe);
  // Not `Math.max(...ops)`: a 2-hour run's half a million ops overflow the stack as arguments.
  const slowest = ops.reduce((m, o) => Math.max(m, o.t_end - o.t_start), 0);
  return row("P12", "every op ends within its deadline", `${ops.length} ops, slowest ${slowest} ms (deadline ${timeoutMs}); ${open} never ended`, late.length === 0 && open === 0, late);
}

/**
 * P24 memory: the RSS slope and the retained heap's slope (V8's old-generation objects after each
 * full collection: what the live objects take) of each replica process after warm-up; peak RSS. The
 * slope bounds hold for a process that lived through most of the sampling (replica 0, which the
 * nemesis never signals): RSS by `maxSlopePctPerHour`, the retained heap by
 * `maxRetainedSlopePctPerHour` (reported only without it: over minutes, a young process's feedback
 * and caches still fill its old generation — +24 %/h in a 10-minute run that grew +1.2 %/h over two
 * hours); a replica restarted during the run is reported with its
 * longest-lived process's RSS slope only: a few minutes that start with its own warm-up say nothing
 * about a leak.
 */
export function checkMemory(samples: readonly MemorySample[], opts: { maxPeakBytes: number; maxSlopePctPerHour?: number; maxRetainedSlopePctPerHour?: number }): PropertyRow {
  let peak = 0;
  let worst = -Infinity;
  let retainedOk = true;
  const parts: string[] = [];
  for (const [replica, all] of groupBy(samples, (s) => s.replica)) {
    peak = all.reduce((m, s) => Math.max(m, s.rssBytes), peak);
    const run = longestRun(all);
    const warm = afterWarmUp(run);
    if (warm.length < 5) continue;
    const rss = pctPerHour(warm.map((s) => [s.t, s.rssBytes]));
    const span = (xs: readonly MemorySample[]) => xs.at(-1)!.t - xs[0]!.t;
    if (span(run) < 0.8 * span(all)) {
      parts.push(`r${replica} ${mb(rss.mean)} MB ${signed(rss.pct)} %/h (restarted: reported only)`);
      continue;
    }
    const heap = warm.filter((s) => s.heapRetainedBytes !== undefined).map((s): [number, number] => [s.t, s.heapRetainedBytes!]);
    const retained = heap.length >= 5 ? pctPerHour(heap) : undefined;
    worst = Math.max(worst, rss.pct);
    if (retained !== undefined && opts.maxRetainedSlopePctPerHour !== undefined && retained.pct > opts.maxRetainedSlopePctPerHour) retainedOk = false;
    const retainedBound = opts.maxRetainedSlopePctPerHour === undefined ? ": reported only" : ` (bound ${opts.maxRetainedSlopePctPerHour})`;
    const heapNote = retained === undefined ? "" : `, heap retained ${mb(heap[0]![1])} → ${mb(heap.at(-1)![1])} MB ${signed(retained.pct)} %/h${retainedBound}`;
    parts.push(`r${replica} ${mb(rss.mean)} MB ${signed(rss.pct)} %/h${heapNote}`);
  }
  const slopeOk = opts.maxSlopePctPerHour === undefined || worst <= opts.maxSlopePctPerHour;
  const bound = opts.maxSlopePctPerHour === undefined ? "slope reported only (short run)" : `slope bound ${opts.maxSlopePctPerHour} %/h`;
  return row("P24", "memory flat after warm-up", `${parts.join("; ")}; peak ${mb(peak)} MB (bound ${mb(opts.maxPeakBytes)}); ${bound}`, peak > 0 && peak <= opts.maxPeakBytes && slopeOk && retainedOk);
}

/** Replica 0's state some minutes after the load stopped. */
export interface CoolDown {
  rssBytes: number;
  heapRetainedBytes?: number;
  fds?: number;
  minutes: number;
}

/**
 * P24 recovery: replica 0's RSS, retained heap and open file descriptors some minutes after the
 * load stopped, against their level under load just after warm-up (the start of the slope's
 * window): memory within `maxPct` above it, descriptors within `maxPct` or 5 above it — or what
 * the load left behind stays.
 */
export function checkCoolDown(samples: readonly MemorySample[], after: CoolDown, maxPct: number): PropertyRow {
  const warm = replicaZeroWarm(samples);
  const early = warm.slice(0, Math.max(1, Math.ceil(warm.length / 10)));
  const baseline = (read: (s: MemorySample) => number | undefined) => {
    const xs = early.flatMap((s) => read(s) ?? []).sort((a, b) => a - b);
    return xs[Math.floor(xs.length / 2)];
  };
  const baseRss = baseline((s) => s.rssBytes);
  const baseHeap = baseline((s) => s.heapRetainedBytes);
  const baseFds = baseline((s) => s.fds);
  const within = (now: number | undefined, base: number | undefined, slack = 0) => now === undefined || base === undefined || now <= Math.max(base * (1 + maxPct / 100), base + slack);
  const heapNote = after.heapRetainedBytes === undefined || baseHeap === undefined ? "" : `, heap retained ${mb(after.heapRetainedBytes)} MB (${mb(baseHeap)})`;
  const fdNote = after.fds === undefined || baseFds === undefined ? "" : `, ${after.fds} open fds (${baseFds})`;
  return row(
    "P24",
    "memory back to baseline after load",
    `r0 ${after.minutes} min after the load: RSS ${mb(after.rssBytes)} MB (under load after warm-up ${baseRss === undefined ? "?" : mb(baseRss)})${heapNote}${fdNote}; bound +${maxPct} %`,
    baseRss !== undefined && within(after.rssBytes, baseRss) && within(after.heapRetainedBytes, baseHeap) && within(after.fds, baseFds, 5),
  );
}

/**
 * P24 event-loop lag: replica 0's event-loop delay p99 over each sampling interval after warm-up
 * (prom-client resets its histogram at every scrape); at most 5 % of the intervals may reach
 * `boundMs` (a GC pause, a replica's restart elsewhere), so a loop blocked again and again fails.
 * Reported only when `bounded` is false: the short mode runs in CI beside other test files on two
 * cores, where a replica waits for a core as often as for itself.
 */
export function checkLag(samples: readonly MemorySample[], boundMs: number, bounded = true): PropertyRow {
  const ms = replicaZeroWarm(samples)
    .flatMap((s) => (s.lagP99Seconds === undefined ? [] : [s.lagP99Seconds * 1000]))
    .sort((a, b) => a - b);
  const over = ms.filter((x) => x >= boundMs).length;
  const at = (q: number) => (ms.length === 0 ? NaN : ms[Math.min(ms.length - 1, Math.floor(q * ms.length))]!);
  return row(
    "P24",
    `event-loop lag p99 < ${boundMs} ms`,
    `r0, ${ms.length} intervals: p99 per interval median ${at(0.5).toFixed(1)} ms, worst ${at(1).toFixed(1)} ms; ${over} at ${boundMs} ms or more (${bounded ? `allowed ${Math.floor(ms.length * 0.05)}` : "reported only: short run"})`,
    ms.length >= 5 && (!bounded || over <= Math.floor(ms.length * 0.05)),
  );
}

const signed = (n: number) => `${n >= 0 ? "+" : ""}${n.toFixed(0)}`;
const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(0);

/** The longest-lived process among a replica's samples (each restart is a new one). */
const longestRun = (samples: readonly MemorySample[]): MemorySample[] => [...groupBy(samples, (s) => s.pid).values()].reduce((a, b) => (b.length > a.length ? b : a), []);

/** A process's samples after its warm-up (the first 30 %). */
const afterWarmUp = (run: readonly MemorySample[]): MemorySample[] => run.slice(Math.floor(run.length * 0.3));

/** Replica 0's whole-run process, after its warm-up: what the recovery and lag checks read. */
const replicaZeroWarm = (samples: readonly MemorySample[]): MemorySample[] => afterWarmUp(longestRun(samples.filter((s) => s.replica === 0)));

/** Least-squares slope of bytes over time (ms), as a percentage of the mean per hour. */
function pctPerHour(points: ReadonlyArray<[number, number]>): { pct: number; mean: number } {
  const mean = points.reduce((a, [, y]) => a + y, 0) / points.length;
  return { pct: (100 * regressionSlope(points.map(([t, y]) => [t / 3_600_000, y]))) / mean, mean };
}

/** Least-squares slope of y over x. */
function regressionSlope(points: ReadonlyArray<[number, number]>): number {
  const n = points.length;
  const mx = points.reduce((a, [x]) => a + x, 0) / n;
  const my = points.reduce((a, [, y]) => a + y, 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}
