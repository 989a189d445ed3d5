/**
 * The multi-replica fault soak (issue #11, RELIABILITY §5): the rig, the load, the nemesis,
 * quiescence, then the checkers over the recorded history. `short` fits CI (≈ 90 s wall time with
 * start-up); `long` repeats the nemesis cycle for `seconds` and asserts the memory slope.
 */
import { closeSync, openSync, readFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { checkAttempts, checkCap, checkLedger, checkReservations, checkRpm, checkTtls, type MoneyInput } from "./checkers-money.js";
import { checkContainment, checkCoolDown, checkDeadlines, checkLag, type CoolDown, checkMemory, checkRedisHang, checkStalls, createSpliceCheck } from "./checkers-faults.js";
import { checkLogBytes, checkPostgresGrowth, checkRedisKeys } from "./checkers-stores.js";
import { collect } from "./collect.js";
import { groupBy } from "./group-by.js";
import { createHistory, type History } from "./history.js";
import { startLoad } from "./load-client.js";
import { runNemesisCycle, settleRecoveries, type NemesisEvent, type NemesisTiming } from "./nemesis.js";
import { createSoakClients } from "./op-calls.js";
import { formatTable, row, type PropertyRow } from "./property-row.js";
import { gauge, gauges, type MemorySample } from "./replica.js";
import { startCluster, type Cluster, type ClusterOptions } from "./soak-cluster.js";
import { startStoreSampler, type StoreSampler } from "./store-samples.js";

/** How long and how hard the soak runs. */
export interface SoakOptions {
  mode: "short" | "long";
  /** Long mode: keep cycling the nemesis until this much load time has passed. */
  seconds: number;
  /** Long mode: how long after the load replica 0's memory is read again (P24's return to baseline); default 300. */
  coolDownSeconds?: number;
}

/** The soak's outcome. */
export interface SoakReport {
  rows: PropertyRow[];
  table: string;
  /** Where the replicas' logs and the history (`history.jsonl`) are. */
  runDir: string;
  wallMs: number;
}

const CLUSTER: ClusterOptions = { replicas: 3, capMicros: 3000n, rpmLimit: 30, maxAttempts: 2, shutdownGraceMs: 10_000, inFlightCap: 24 };
const TIMEOUT_MS = 15_000;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Runs the soak end to end and returns the property table. */
export async function runSoak(opts: SoakOptions): Promise<SoakReport> {
  const t0 = Date.now();
  const long = opts.mode === "long";
  /** A long run of RELIABILITY's length or near it: the bounds that only hold over an hour or more apply. */
  const hourLong = long && opts.seconds >= 3600;
  const timing: NemesisTiming = long
    ? { quietMs: 10_000, stormMs: 10_000, redisMs: 8_000, postgresMs: 30_000, shutdownGraceMs: CLUSTER.shutdownGraceMs, restartAfterTerm: true }
    : { quietMs: 2_500, stormMs: 4_000, redisMs: 4_000, postgresMs: 6_000, shutdownGraceMs: CLUSTER.shutdownGraceMs, restartAfterTerm: false };
  const cluster = await startCluster(CLUSTER);
  // P14 is checked as each operation ends, so the history can drop its answer text; the events
  // go to the run folder as they happen.
  const splice = createSpliceCheck();
  const history = createHistory({
    file: join(cluster.runDir, "history.jsonl"),
    onComplete: (op) => splice.observe(op, cluster.providers.attemptsOf(op.request_id)),
  });
  const events: NemesisEvent[] = [];
  const memory: MemorySample[] = [];
  let stores: StoreSampler | undefined;
  try {
    await warmUp(cluster);
    const sampler = setInterval(() => {
      for (const r of cluster.replicas) {
        const pid = r.pid();
        const rss = r.rss();
        if (pid === undefined || rss === undefined) continue;
        const fds = r.fds();
        const sample: MemorySample = { replica: r.index, pid, t: Date.now(), rssBytes: rss, ...(fds === undefined ? {} : { fds }) };
        memory.push(sample);
        // Replica 0 lives the whole run: its retained heap beside its RSS, to tell a leak from
        // V8 merely sizing its heap, and its event loop's delay.
        if (r.index === 0) {
          void gauges(r.url, ["switchboard_heap_retained_bytes", "nodejs_eventloop_lag_p99_seconds"]).then(([bytes, lag]) => {
            if (bytes !== undefined && bytes > 0) sample.heapRetainedBytes = bytes;
            if (lag !== undefined) sample.lagP99Seconds = lag;
          });
        }
      }
    }, long ? 5000 : 1000);
    stores = await startStoreSampler({ databaseUrl: cluster.database.url, redisUrl: cluster.redisUrl }, long ? 10_000 : 2_000);
    const load = startLoad(cluster.replicas, cluster.secrets, history, {
      workers: long ? 16 : 10,
      cappedWorkers: 2,
      rpmWorkers: 1,
      faultRate: 0.12,
      dripRate: 0.2,
      abortRate: 0.05,
      timeoutMs: TIMEOUT_MS,
      maxTokens: 64,
      route: cluster.route,
      thinkMs: 100,
      seed: 11,
    });
    const loadStart = Date.now();
    for (let cycle = 0; cycle === 0 || (long && Date.now() - loadStart < opts.seconds * 1000); cycle++) {
      await runNemesisCycle(cluster, load, timing, cycle, events);
    }
    await sleep(1000);
    await load.stop();
    await settleRecoveries();
    const p23 = await inFlightShed(cluster, history);
    clearInterval(sampler);
    await stores.stop();

    const collected = await collect(cluster, 20_000);
    const coolDown = long ? await afterCoolDown(cluster, opts.coolDownSeconds ?? 300) : undefined;
    const ops = history.ops();
    // Beside the history: the nemesis, the gateway's ledger and the fakes' attempts, to join when a checker fails.
    writeJsonl(join(cluster.runDir, "nemesis.jsonl"), events);
    writeJsonl(join(cluster.runDir, "ledger.jsonl"), collected.ledger);
    writeJsonl(join(cluster.runDir, "attempts.jsonl"), cluster.providers.attempts());
    const truth = cluster.providers.truth(); // both fakes' logs joined: made once
    writeJsonl(join(cluster.runDir, "truth.jsonl"), truth);
    writeJsonl(join(cluster.runDir, "stores.jsonl"), stores.samples);
    const money: MoneyInput = {
      ops,
      attempts: cluster.providers.attempts(),
      truth,
      collected,
      events,
      capMicros: CLUSTER.capMicros,
      rpmLimit: CLUSTER.rpmLimit,
      maxAttemptsPerCall: CLUSTER.maxAttempts * 2,
    };
    const requests = new Set(collected.ledger.map((r) => r.requestId)).size;
    const rows: PropertyRow[] = [
      checkCap(money),
      ...checkLedger(money),
      checkRpm(money),
      checkTtls(money),
      checkRedisHang(ops, events, 5000),
      checkAttempts(money),
      checkDeadlines(ops, history.open().length, TIMEOUT_MS),
      checkStalls(ops, cluster.providers.attempts(), collected.ledger, events, 10_000),
      splice.row(),
      ...checkContainment(ops, events, CLUSTER.shutdownGraceMs),
      withHoldCauses(checkReservations(money), cluster),
      p23,
      checkMemory(memory, { maxPeakBytes: 400 * 2 ** 20, ...(long ? slopeBounds(hourLong) : {}) }),
      ...(coolDown === undefined ? [] : [checkCoolDown(memory, coolDown, 10)]),
      checkLag(memory, 50, long),
      checkLogBytes(collected.requestLogBytes, requests),
      checkRedisKeys(stores.samples, collected.redisTtls, hourLong),
      checkPostgresGrowth(stores.samples),
    ];
    const counts = ["ok", "fail", "info"].map((t) => `${ops.filter((o) => o.type === t).length} ${t}`).join(", ");
    const header = `fault soak (${opts.mode}): ${ops.length} ops (${counts}); ${[...groupBy(events, (e) => e.name)].map(([name, list]) => `${list.length} ${name}`).join(", ")}; ledger drained in ${collected.drainMs} ms; run dir ${cluster.runDir}`;
    return { rows, table: `${header}\n${formatTable(rows)}`, runDir: cluster.runDir, wallMs: Date.now() - t0 };
  } finally {
    history.close();
    await stores?.stop();
    await cluster.close();
  }
}

/**
 * P24's slope bounds: RELIABILITY's 2 %/h on RSS and on the retained heap holds for its 2-hour
 * soak. A shorter run's regression over minutes carries V8 sizing its heap up as RSS slope
 * (+8 to +17 %/h in 10-minute runs whose retained heap stayed flat, 39 → 39 MB), so under an hour
 * RSS is held only to 50 %/h — a gross leak, ≥ ≈ 400 B a request at the soak's rate — and the
 * retained heap is reported: a 10-minute window still sees the old generation fill. Leaks per
 * call are `fault-path-heap.test.ts`'s to catch, object by object.
 */
const slopeBounds = (hourLong: boolean) => (hourLong ? { maxSlopePctPerHour: 2, maxRetainedSlopePctPerHour: 2 } : { maxSlopePctPerHour: 50 });

/** Waits with the load stopped, then reads replica 0's memory (P24's return to baseline). */
async function afterCoolDown(cluster: Cluster, seconds: number): Promise<CoolDown> {
  await sleep(seconds * 1000);
  const r0 = cluster.replicas[0]!;
  const retained = await gauge(r0.url, "switchboard_heap_retained_bytes");
  const fds = r0.fds();
  return { rssBytes: r0.rss() ?? 0, ...(retained === undefined ? {} : { heapRetainedBytes: retained }), ...(fds === undefined ? {} : { fds }), minutes: seconds / 60 };
}

/** One JSON line per item (bigints as strings), written item by item: a long run's history does not fit one string. */
function writeJsonl(path: string, items: readonly unknown[]): void {
  const fd = openSync(path, "w");
  try {
    for (const item of items) writeSync(fd, JSON.stringify(item, (_, x: unknown) => (typeof x === "bigint" ? x.toString() : x)) + "\n");
  } finally {
    closeSync(fd);
  }
}

/** Adds to the reservations row what the replicas logged about holds they could not give back. */
function withHoldCauses(r: PropertyRow, cluster: Cluster): PropertyRow {
  const logs = cluster.replicas.map((rep) => readFileSync(join(cluster.runDir, `replica-${rep.index}.log`), "utf8")).join("\n");
  const count = (msg: string) => logs.split(msg).length - 1;
  return { ...r, figure: `${r.figure}; logged: ${count("budget settle incomplete")} settles incomplete, ${count("budget check failed")} reserves with an unknown outcome` };
}

/** Waits until every replica serves the soak route for every key (routes and limits are polled). */
async function warmUp(cluster: Cluster): Promise<void> {
  const clients = createSoakClients();
  const deadline = Date.now() + 20_000;
  for (const r of cluster.replicas) {
    for (const role of ["app", "capped", "rpm"] as const) {
      for (let n = 0; ; n++) {
        const id = `warm-${r.index}-${role}-${n}`;
        const res = await clients.call("chat", { url: r.url, secret: cluster.secrets[role], requestId: id, prompt: `[op:${id}] warm up please`, maxTokens: 64, route: cluster.route, timeoutMs: 5000 });
        if (res.type === "ok") break;
        if (Date.now() > deadline) throw new Error(`replica ${r.index} does not serve route ${cluster.route} for ${role}: ${res.code} ${res.message ?? ""}`);
        await sleep(250);
      }
    }
  }
}

/**
 * P23: with the per-replica in-flight cap configured, a burst of slow streams beyond it is shed
 * at once with `resource_exhausted`.
 */
async function inFlightShed(cluster: Cluster, history: History): Promise<PropertyRow> {
  const clients = createSoakClients();
  const target = cluster.replicas[0]!;
  const burst = CLUSTER.inFlightCap + 16;
  const results = await Promise.all(
    Array.from({ length: burst }, async (_, i) => {
      const requestId = `p23-${i}`;
      const t_start = Date.now();
      const base = { process: 1000 + i, request_id: requestId, kind: "stream" as const, key: "app" as const, replica: target.index, fault: "drip", t_start };
      history.invoke(base);
      const r = await clients.call("stream", { url: target.url, secret: cluster.secrets.app, requestId, prompt: `[op:${requestId}] [fault:drip] please summarise everything considered thoroughly`, maxTokens: 64, route: cluster.route, timeoutMs: TIMEOUT_MS });
      const op = { ...base, ...r, t_end: Date.now() };
      history.complete(op);
      return op;
    }),
  );
  // The burst's key has no rate limit and a large budget: any other refusal is the in-flight cap.
  const shed = results.filter((r) => r.code === "resource_exhausted" && !(r.details ?? []).includes("BudgetExceeded"));
  const slowest = Math.max(0, ...shed.map((r) => r.t_end - r.t_start));
  const admitted = results.filter((r) => r.type === "ok").length;
  return row(
    "P23",
    "in-flight cap sheds at once",
    `${burst} concurrent streams at cap ${CLUSTER.inFlightCap}: ${shed.length} shed (slowest refusal ${slowest} ms), ${admitted} answered`,
    shed.length >= burst - CLUSTER.inFlightCap && admitted <= CLUSTER.inFlightCap && slowest <= 1000,
  );
}
