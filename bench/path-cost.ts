/**
 * CPU per request of the gateway's front doors side by side — `CapabilityService/Chat` over
 * Connect (HTTP/1.1, binary, connect-node's client), `/v1/chat/completions` (undici) and
 * `CapabilityService/Chat` over gRPC (h2c, one multiplexed connection, connect-node's client) — on
 * one replica, alternating, so they are measured under the same machine load. For the paired
 * before/after comparisons of `bench/README.md`'s Profile section, where `run.ts`'s matrix is too
 * coarse and a loaded machine makes two separate runs incomparable.
 *
 *   node --import tsx bench/path-cost.ts [embedded|production] [--conns 16] [--requests 3000]
 *        [--rounds 2] [--warmup 500] [--only connect|connect-raw|openai|grpc|…,…] [--hit] [--idle S] [--threads]
 *        [--syscalls] [--profile] [--gc] [--omit budget,ratelimit,…] [--layered-limits] [--minimal] [--tenants N]
 *
 * - every round runs `--requests` calls per path over `--conns` callers (1 = sequential), each
 *   prompt unique (a cache miss) unless `--hit` (one fixed prompt: a cache hit once cached);
 * - prints the gateway's CPU µs per request (user + system, from /proc), the wall time and the
 *   callers' median latency, and its read and
 *   write system calls per request (`syscr`/`syscw` of /proc/PID/io: every socket and file read/write);
 *   `--threads` splits it by thread (main thread vs V8 workers / libuv pool);
 * - `--syscalls` counts the gateway's system calls per request of each path (`strace -c -f`,
 *   which slows the process: read the counts, not the µs, of such a run);
 * - `--gc` runs the gateway with `--trace-gc-nvp` and prints the bytes it allocated, its GC
 *   pause and the collector's CPU on every thread per request (`gc-trace.ts`): steadier than CPU
 *   time on a loaded machine, so the figures to pair when a change is meant to allocate less or
 *   to collect differently;
 * - `--profile` starts the gateway with `--cpu-prof` into bench/results/profiles; summarise it
 *   with `bench/profile-top.ts PROFILE --window S --per N`;
 * - `--idle S` first measures the idle replica's CPU for S seconds;
 * - `--omit LIST` leaves features of `production` out, as `bench/ablation.ts` does (to profile one
 *   configuration against another);
 * - `--layered-limits` puts rate limits on the key's team and org as well as on the key;
 * - `--tenants N` (production) configures N orgs alike and spreads the `openai` and `connect-raw`
 *   calls over their keys in turn (the connect-node clients keep the first): per-tenant state —
 *   rate-limit windows, budget counters, cache entries — as a gateway serving many tenants has it;
 * - `--minimal` also measures issue #11's calibration gateway (`minimal-gateway.ts`: upstream call,
 *   three Redis round trips, access log) on the same two wires, as paths `minimal-openai` and
 *   `minimal-connect` (sent by undici, as `openai` and `connect-raw`), in its own process.
 *
 * `production` needs DATABASE_URL and REDIS_URL (`eval "$(bash scripts/services.sh up)"`).
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Pool } from "undici";
import { followGcTrace } from "./gc-trace.js";
import { percentile } from "./load.js";
import { benchChat, connectChat, openaiChat } from "./raw-client.js";
import { cpuMicros, ioSyscalls } from "./proc-stats.js";
import { startNode } from "./processes.js";
import { bearerOf, capabilityClients, omitFlag, startSwitchboard } from "./switchboard-setup.js";
import { arg, flag } from "./cli.js";

const argv = process.argv.slice(2);
const mode = argv[0] === "production" ? "production" : "embedded";
const CONNS = Number(arg("conns", "16"));
const REQUESTS = Number(arg("requests", "3000"));
const ROUNDS = Number(arg("rounds", "2"));
const ONLY = arg("only", "");
const HIT = flag("hit");

/** CPU µs per thread of a process, by thread id (the names are all "node"). */
function threadMicros(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      out.set(tid === String(pid) ? "main" : tid, (Number(f[11]) + Number(f[12])) * 10_000);
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

const upstream = await startNode("bench/upstream.ts", ["0", "0"]);
if (flag("gc")) {
  process.env.SB_BENCH_LOG_DIR ??= mkdtempSync(join(tmpdir(), "sb-gc-"));
  process.env.SB_GATEWAY_NODE_FLAGS = `${process.env.SB_GATEWAY_NODE_FLAGS ?? ""} --trace-gc-nvp`;
}
const gw = await startSwitchboard({
  upstreamUrl: `http://127.0.0.1:${upstream.port}`,
  mode,
  layeredLimits: flag("layered-limits"),
  tenants: Number(arg("tenants", "1")),
  ...(flag("profile") ? { profileDir: process.env.SB_PROFILE_DIR ?? "bench/results/profiles" } : {}),
  omit: omitFlag(),
});
const pid = gw.process.pid!;
const replicaGcTrace = flag("gc") ? followGcTrace(process.env.SB_BENCH_LOG_DIR!, pid) : undefined;
const { connect, grpc } = capabilityClients(gw);
const pool = new Pool(gw.url, { connections: CONNS });
const minimal = flag("minimal")
  ? await startNode("bench/minimal-gateway.ts", ["0", `http://127.0.0.1:${upstream.port}`, process.env.REDIS_URL ?? "", gw.key], {
      ...(flag("profile") ? { nodeFlags: ["--cpu-prof", `--cpu-prof-dir=${process.env.SB_PROFILE_DIR ?? "bench/results/profiles"}`] } : {}),
    })
  : undefined;
const minimalPool = minimal ? new Pool(`http://127.0.0.1:${minimal.port}`, { connections: CONNS }) : undefined;
const prompt = (i: number) => (HIT ? "hello" : `hello ${i}`);
const bearer = (i: number) => bearerOf(gw, i);
const paths: Record<string, (i: number) => Promise<void>> = {
  connect: async (i) => {
    await connect.chat(benchChat(prompt(i)));
  },
  // The same Connect call as `connect`, sent by undici as `openai` is: the gateway's cost and
  // latency without connect-node's client in the caller (for one-connection latency).
  "connect-raw": (i) => connectChat(pool, bearer(i), prompt(i)),
  openai: (i) => openaiChat(pool, bearer(i), prompt(i)),
  grpc: async (i) => {
    await grpc.chat(benchChat(prompt(i)));
  },
  ...(minimalPool === undefined
    ? {}
    : {
        "minimal-openai": (i: number) => openaiChat(minimalPool, bearer(i), prompt(i)),
        "minimal-connect": (i: number) => connectChat(minimalPool, `Bearer ${gw.key}`, prompt(i)),
      }),
};
/** The process serving a path: the minimal gateway's for its two, the replica's for the rest. */
const pidOf = (name: string): number => (name.startsWith("minimal-") ? minimal!.pid : pid);
let next = 0; // every call of the run gets its own prompt
// Warm-up, unmeasured: JIT, pools, caches (`--warmup` calls per path, over the same callers).
const WARMUP = Number(arg("warmup", "500"));
for (const call of Object.values(paths)) {
  await Promise.all(Array.from({ length: CONNS }, async () => {
    for (let i = 0; i < Math.ceil(WARMUP / CONNS); i++) await call(next++);
  }));
}

if (Number(arg("idle", "0")) > 0) {
  const s = Number(arg("idle", "0"));
  await new Promise((r) => setTimeout(r, 1000));
  const t0 = cpuMicros(pid);
  await new Promise((r) => setTimeout(r, s * 1000));
  console.log(`idle: ${Math.round((cpuMicros(pid) - t0) / s)} µs CPU per second`);
}

async function measure(name: string, call: (i: number) => Promise<void>): Promise<void> {
  const pid = pidOf(name);
  const gcTrace = pid === gw.process.pid ? replicaGcTrace : undefined;
  const trace = flag("syscalls") ? spawn("strace", ["-c", "-f", "-p", String(pid)], { stdio: ["ignore", "ignore", "pipe"] }) : undefined;
  let counts = "";
  trace?.stderr!.on("data", (c: Buffer) => (counts += c.toString()));
  if (trace) await new Promise((r) => setTimeout(r, 1000));
  await gcTrace?.mark();
  const threads0 = threadMicros(pid);
  const cpu0 = cpuMicros(pid);
  const io0 = ioSyscalls(pid);
  const started = performance.now();
  const perCaller = Math.ceil(REQUESTS / CONNS);
  const latencies: number[] = [];
  await Promise.all(
    Array.from({ length: CONNS }, async () => {
      for (let i = 0; i < perCaller; i++) {
        const t0 = performance.now();
        await call(next++);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const n = perCaller * CONNS;
  const [p50, p90, p99] = [50, 90, 99].map((p) => percentile(latencies, p)) as [number, number, number];
  const wall = performance.now() - started;
  const cpu = cpuMicros(pid) - cpu0;
  const io = ioSyscalls(pid);
  if (trace) {
    trace.kill("SIGINT");
    await new Promise((r) => trace.once("exit", r));
  }
  console.log(`${name.padEnd(15)} ${String(Math.round(cpu / n)).padStart(6)} µs CPU/req  ${(wall / n).toFixed(3)} ms wall/req  p50 ${p50.toFixed(3)} ms  p90 ${p90.toFixed(3)} ms  p99 ${p99.toFixed(3)} ms  (${n} requests, ${CONNS} callers)  read/write syscalls per req ${((io.reads - io0.reads) / n).toFixed(2)}/${((io.writes - io0.writes) / n).toFixed(2)}`);
  if (gcTrace) {
    const gc = await gcTrace.mark();
    console.log(`         allocated ${(gc.allocatedBytes / n / 1024).toFixed(1)} KB/req (promoted ${(gc.promotedBytes / n / 1024).toFixed(1)}), GC pause ${Math.round((gc.pauseMs * 1000) / n)} µs/req, GC CPU ${Math.round((gc.gcCpuMs * 1000) / n)} µs/req, longest pause ${gc.maxPauseMs.toFixed(1)} ms (${gc.scavenges} scavenges, ${gc.markCompacts} mark-compacts)`);
  }
  if (flag("threads")) {
    const after = threadMicros(pid);
    const parts = [...after].map(([t, us]) => [t, Math.round((us - (threads0.get(t) ?? 0)) / n)] as const).filter(([, us]) => us > 0);
    const main = parts.find(([t]) => t === "main")?.[1] ?? 0;
    console.log(`         main thread ${main} µs, other threads ${parts.reduce((s, [t, us]) => s + (t === "main" ? 0 : us), 0)} µs`);
  }
  if (trace) {
    const rows = counts.split("\n").filter((l) => /^\s*[\d.]+\s+[\d.]+\s+\d+\s+\d+/.test(l));
    const calls = rows.map((l) => l.trim().split(/\s+/)).map((f) => [f.at(-1)!, Number(f[3])] as const).filter(([s]) => s !== "total");
    console.log(`         syscalls/req: ${calls.filter(([, c]) => c / n >= 0.05).map(([s, c]) => `${s} ${(c / n).toFixed(2)}`).join(", ")}`);
  }
}

const only = ONLY === "" ? undefined : new Set(ONLY.split(","));
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, call] of Object.entries(paths)) if (only === undefined || only.has(name)) await measure(name, call);
}
await pool.close();
await minimalPool?.close();
await minimal?.stop();
await gw.close();
await upstream.stop();
process.exit(0);
