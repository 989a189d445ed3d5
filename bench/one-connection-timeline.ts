/**
 * Where the added latency at one connection goes: the serving process's system calls of
 * sequential calls, traced with `perf trace` (kernel tracepoints, no ptrace stops), cut into
 * calls and read as a timeline. Each step is a read or write of the serving thread (or of the
 * thread pool: the ledger's `O_DSYNC` append), with the time since the previous step split into
 * the serving thread **working** (JavaScript, Node, the kernel inside its other system calls) and
 * **idle** in `epoll_wait` — waiting for Redis, the upstream, the thread pool — medians over the
 * calls of the most common shape. Switchboard's full production pipeline (cache miss) on the
 * OpenAI surface and over Connect, beside issue #11's calibration gateway (`minimal-gateway.ts`)
 * on the same wires, in one run.
 *
 *   node --import tsx bench/one-connection-timeline.ts [--calls 400] [--warmup 3000] [--pause-ms 0]
 *        [--only openai,connect-raw,minimal-openai,minimal-connect] [--omit budget,…]
 *
 * Needs DATABASE_URL, REDIS_URL and `perf` (linux-perf). Tracing adds ≈ 10–20 µs to each traced
 * system call, so read the steps against each other and against the calibration's; the untraced
 * p50 of the same calls (measured just before) is printed beside the traced one. `--pause-ms`
 * waits between calls (0: back to back, as `run.ts`'s one-connection points).
 */
import { spawn } from "node:child_process";
import { readFileSync, readdirSync, readlinkSync } from "node:fs";
import { Pool } from "undici";
import { arg } from "./cli.js";
import { median } from "./load.js";
import { startNode } from "./processes.js";
import { connectChat, openaiChat } from "./raw-client.js";
import { omitFlag, startSwitchboard } from "./switchboard-setup.js";

const CALLS = Number(arg("calls", "400"));
const WARMUP = Number(arg("warmup", "3000"));
const PAUSE_MS = Number(arg("pause-ms", "0"));
const ONLY = new Set(arg("only", "openai,minimal-openai,connect-raw,minimal-connect").split(","));

/** One traced system call. */
interface Sys {
  at: number; // ms since the trace started
  dur: number; // ms, 0 when perf did not print one
  tid: number;
  name: string;
  fd: number;
  ret: number;
}

/** Parses `perf trace` output; a call split by a context switch ("...", "[continued]") is joined. */
function parsePerfTrace(text: string): Sys[] {
  const out: Sys[] = [];
  const pending = new Map<number, Sys>();
  const head = /^\s*([\d.]+) \(\s*([\d.]*)\s*(?:ms)?\): \S+?\/(\d+)\s+(.*)$/;
  for (const line of text.split("\n")) {
    const m = head.exec(line);
    if (!m) continue;
    const at = Number(m[1]);
    const dur = m[2] === "" ? 0 : Number(m[2]);
    const tid = Number(m[3]);
    const rest = m[4]!;
    const cont = /^\.\.\. \[continued\]: (\w+)\(\)\)?\s+= (-?\d+)/.exec(rest);
    if (cont) {
      const p = pending.get(tid);
      if (p && p.name === cont[1]) {
        pending.delete(tid);
        out.push({ ...p, dur, ret: Number(cont[2]) });
      }
      continue;
    }
    const call = /^(\w+)\((?:ep)?fd: (\d+)[^)]*\)(?:\s+= (-?\d+)|\s+\.\.\.)/.exec(rest);
    if (!call) continue;
    const sys: Sys = { at, dur, tid, name: call[1]!, fd: Number(call[2]), ret: call[3] === undefined ? 0 : Number(call[3]) };
    if (call[3] === undefined) pending.set(tid, sys);
    else out.push(sys);
  }
  return out.sort((a, b) => a.at - b.at);
}

/** What each descriptor of `pid` is: a peer by port, the ledger, the event loop's eventfd, stdout. */
function describeFds(pid: number, ports: Record<string, number>, into: Map<number, string>): void {
  const socketPeer = new Map<string, string>();
  for (const table of ["tcp", "tcp6"]) {
    let rows: string[];
    try {
      rows = readFileSync(`/proc/${pid}/net/${table}`, "utf8").split("\n").slice(1);
    } catch {
      continue;
    }
    for (const row of rows) {
      const f = row.trim().split(/\s+/);
      if (f.length < 10) continue;
      const local = parseInt(f[1]!.split(":")[1]!, 16);
      const remote = parseInt(f[2]!.split(":")[1]!, 16);
      const name = Object.entries(ports).find(([, p]) => p === remote)?.[0] ?? Object.entries(ports).find(([n, p]) => n === "client" && p === local)?.[0];
      if (name) socketPeer.set(f[9]!, name);
    }
  }
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    let link: string;
    try {
      link = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue;
    }
    const inode = /^socket:\[(\d+)\]$/.exec(link)?.[1];
    const what = inode !== undefined ? socketPeer.get(inode) : link.includes("ledger") ? "ledger" : link.includes("eventfd") ? "eventfd" : Number(fd) <= 2 ? "stdio" : undefined;
    if (what) into.set(Number(fd), what);
  }
}

/** A call's steps: each traced system call as "name peer" with the gap since the previous step. */
interface Step {
  label: string;
  /** ms since the previous step ended. */
  gap: number;
  /** ms of `gap` the serving thread spent idle in `epoll_wait`. */
  idle: number;
  /** ms the system call itself took. */
  dur: number;
  /** ms of `dur` the serving thread spent idle (a thread pool's write: the serving thread waits for it). */
  idleIn: number;
}

/** Cuts the trace into calls: from the serving thread's read of the request to its write of the answer. */
function callsOf(sys: Sys[], pid: number, fds: Map<number, string>): Step[][] {
  const waits = sys.filter((s) => s.tid === pid && s.name.startsWith("epoll"));
  const idleBetween = (from: number, to: number): number =>
    waits.reduce((sum, w) => sum + Math.max(0, Math.min(to, w.at + w.dur) - Math.max(from, w.at)), 0);
  const ev = sys
    .filter((s) => !s.name.startsWith("epoll"))
    .map((s) => ({ ...s, peer: fds.get(s.fd) ?? `fd${s.fd}` }))
    .filter((s) => s.peer !== "eventfd" || s.tid === pid)
    .filter((s) => !(s.name === "read" && s.ret <= 0));
  const calls: Step[][] = [];
  let current: Step[] | undefined;
  let last = 0;
  for (const s of ev) {
    const label = `${s.name} ${s.peer}${s.tid === pid ? "" : " (thread pool)"}`;
    if (s.tid === pid && s.peer === "client" && s.name === "read") {
      current = [{ label, gap: 0, idle: 0, dur: s.dur, idleIn: 0 }];
      calls.push(current);
    } else if (current !== undefined) {
      current.push({ label, gap: s.at - last, idle: idleBetween(last, s.at), dur: s.dur, idleIn: s.tid === pid ? 0 : idleBetween(s.at, s.at + s.dur) });
      if (s.tid === pid && s.peer === "client" && s.name.startsWith("write")) current = undefined; // answered
    }
    last = s.at + s.dur;
  }
  return calls.slice(1, -1).filter((c) => c.at(-1)!.label.endsWith(" client")); // whole calls only
}

function report(name: string, calls: Step[][], untracedP50: number, tracedP50: number): void {
  const shapes = new Map<string, Step[][]>();
  for (const c of calls) {
    const key = c.map((s) => s.label).join(" | ");
    shapes.set(key, [...(shapes.get(key) ?? []), c]);
  }
  const [, common] = [...shapes].sort((a, b) => b[1].length - a[1].length)[0]!;
  const ms = (values: number[]) => median(values).toFixed(3).padStart(7);
  console.log(`\n${name}: ${calls.length} calls, ${common.length} of the most common shape; p50 ${untracedP50.toFixed(3)} ms untraced, ${tracedP50.toFixed(3)} ms traced`);
  console.log("  step (system call)                 since the previous:  ms   working    idle   the call itself");
  common[0]!.forEach((step, i) => {
    const col = (f: (s: Step) => number) => ms(common.map((c) => f(c[i]!)));
    console.log(`  ${step.label.padEnd(36)}${" ".repeat(13)}${col((s) => s.gap)} ${col((s) => s.gap - s.idle)} ${col((s) => s.idle)}  ${col((s) => s.dur)}`);
  });
  // Per call: the serving thread working (between its system calls and in them) and idle in
  // `epoll_wait` (waiting for Redis, the upstream, the thread pool); they add up to the request's
  // read → the answer's write.
  const working = common.map((c) => c.reduce((sum, s) => sum + s.gap - s.idle + s.dur - s.idleIn, 0));
  const idle = common.map((c) => c.reduce((sum, s) => sum + s.idle + s.idleIn, 0));
  const total = common.map((c) => c.reduce((sum, s) => sum + s.gap + s.dur, 0));
  console.log(`  request read → answer written ${ms(total)} ms: the serving thread working ${ms(working)}, idle ${ms(idle)}`);
}

const upstream = await startNode("bench/upstream.ts", ["0", "0"]);
const gw = await startSwitchboard({ upstreamUrl: `http://127.0.0.1:${upstream.port}`, mode: "production", omit: omitFlag() });
const minimal = await startNode("bench/minimal-gateway.ts", ["0", `http://127.0.0.1:${upstream.port}`, process.env.REDIS_URL ?? "", gw.key]);
const ports = {
  client: 0,
  redis: Number(new URL(process.env.REDIS_URL!).port || 6379),
  upstream: upstream.port,
  postgres: Number(new URL(process.env.DATABASE_URL!).port || 5432),
};
const pool = new Pool(gw.url, { connections: 1 });
const minimalPool = new Pool(`http://127.0.0.1:${minimal.port}`, { connections: 1 });
const bearer = `Bearer ${gw.key}`;
let next = 0;
const paths: Record<string, { pid: number; port: number; call: (i: number) => Promise<void> }> = {
  openai: { pid: gw.process.pid, port: gw.process.port, call: (i) => openaiChat(pool, bearer, `hello ${i}`) },
  "minimal-openai": { pid: minimal.pid, port: minimal.port, call: (i) => openaiChat(minimalPool, bearer, `hello ${i}`) },
  "connect-raw": { pid: gw.process.pid, port: gw.process.port, call: (i) => connectChat(pool, bearer, `hello ${i}`) },
  "minimal-connect": { pid: minimal.pid, port: minimal.port, call: (i) => connectChat(minimalPool, bearer, `hello ${i}`) },
};

async function sequential(call: (i: number) => Promise<void>, n: number): Promise<number> {
  const lat: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await call(next++);
    lat.push(performance.now() - t0);
    if (PAUSE_MS > 0) await new Promise((r) => setTimeout(r, PAUSE_MS));
  }
  return median(lat);
}

for (const [name, p] of Object.entries(paths)) {
  if (!ONLY.has(name)) continue;
  await sequential(p.call, WARMUP);
  const untraced = await sequential(p.call, CALLS);
  const fds = new Map<number, string>();
  describeFds(p.pid, { ...ports, client: p.port }, fds);
  let text = "";
  const perf = spawn("perf", ["trace", "-e", "read,write,writev,pwrite64,pwritev,epoll_wait,epoll_pwait", "-p", String(p.pid)], { stdio: ["ignore", "ignore", "pipe"] });
  perf.stderr.on("data", (c: Buffer) => (text += c.toString()));
  await new Promise((r) => setTimeout(r, 1500));
  const traced = await sequential(p.call, CALLS);
  describeFds(p.pid, { ...ports, client: p.port }, fds); // a ledger segment opened meanwhile
  perf.kill("SIGINT");
  await new Promise((r) => perf.once("exit", r));
  report(name, callsOf(parsePerfTrace(text), p.pid, fds), untraced, traced);
}

await pool.close();
await minimalPool.close();
await minimal.stop();
await upstream.stop();
await gw.close();
