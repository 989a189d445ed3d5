/**
 * What each feature of the production pipeline costs per call: the `production` replica of
 * `bench/switchboard-setup.ts` started with one feature left out at a time (`omit`), and with all
 * of them left out, measured as `bench/path-cost.ts` measures — the gateway's CPU µs per call
 * (user + system, /proc) and its read/write system calls per call (`syscr`/`syscw`) — on the
 * OpenAI surface and Connect `Chat`, every prompt unique (cache misses), over `--conns` callers.
 *
 *   node --import tsx bench/ablation.ts [--conns 64] [--requests 2000] [--warmup 1000] [--reps 3]
 *        [--only all,-budget,…]
 *
 * Every repetition starts one fresh replica per configuration (a fresh database each), the order
 * rotated between repetitions so no configuration always runs first or last on the noisy shared
 * machine; each replica gets `--warmup` unmeasured calls per path, then `--requests` measured.
 * The table shows the median per configuration and the median of the per-repetition differences
 * to `all` (paired: same repetition, minutes apart). Needs DATABASE_URL and REDIS_URL.
 */
import { loadavg } from "node:os";
import { Pool } from "undici";
import { cpuMicros, ioSyscalls } from "./proc-stats.js";
import { openaiChat } from "./raw-client.js";
import { startNode } from "./processes.js";
import { FEATURES, capabilityClients, startSwitchboard, type Feature } from "./switchboard-setup.js";
import { arg } from "./cli.js";

const CONNS = Number(arg("conns", "64"));
const REQUESTS = Number(arg("requests", "2000"));
const WARMUP = Number(arg("warmup", "1000"));
const REPS = Number(arg("reps", "3"));

/** Configuration name → features left out. */
const CONFIGS = new Map<string, ReadonlySet<Feature>>([
  ["all", new Set()],
  ...FEATURES.map((f) => [`-${f}`, new Set([f])] as [string, ReadonlySet<Feature>]),
  ["none", new Set(FEATURES)],
]);
const ONLY = arg("only", "");
const names = ONLY === "" ? [...CONFIGS.keys()] : ONLY.split(",");
for (const n of names) if (!CONFIGS.has(n)) throw new Error(`--only: unknown configuration ${n} (${[...CONFIGS.keys()].join(", ")})`);

type PathName = "openai" | "connect";
interface Sample { cpu: number; reads: number; writes: number; wallMs: number }
const samples = new Map<string, Sample[]>(); // `${config} ${path}` → one per repetition

const upstream = await startNode("bench/upstream.ts", ["0", "0"]);
let next = 0; // every call of the run gets its own prompt: all cache misses

async function runConfig(name: string): Promise<void> {
  const gw = await startSwitchboard({ upstreamUrl: `http://127.0.0.1:${upstream.port}`, mode: "production", omit: CONFIGS.get(name)! });
  const pid = gw.process.pid;
    const { connect } = capabilityClients(gw);
  const pool = new Pool(gw.url, { connections: CONNS });
  const paths: Record<PathName, (i: number) => Promise<void>> = {
    openai: (i) => openaiChat(pool, `Bearer ${gw.key}`, `hello ${i}`),
    connect: async (i) => {
      await connect.chat({ options: { route: "bench" }, messages: [{ role: 1, content: [{ part: { case: "text", value: `hello ${i}` } }] }] } as never);
    },
  };
  const drive = async (call: (i: number) => Promise<void>, count: number) => {
    const perCaller = Math.ceil(count / CONNS);
    await Promise.all(Array.from({ length: CONNS }, async () => {
      for (let i = 0; i < perCaller; i++) await call(next++);
    }));
    return perCaller * CONNS;
  };
  try {
    for (const call of Object.values(paths)) await drive(call, WARMUP);
    for (const [path, call] of Object.entries(paths)) {
      const cpu0 = cpuMicros(pid);
      const io0 = ioSyscalls(pid);
      const t0 = performance.now();
      const n = await drive(call, REQUESTS);
      const wallMs = performance.now() - t0;
      const io = ioSyscalls(pid);
      const s: Sample = { cpu: (cpuMicros(pid) - cpu0) / n, reads: (io.reads - io0.reads) / n, writes: (io.writes - io0.writes) / n, wallMs: wallMs / n };
      const key = `${name} ${path}`;
      samples.set(key, [...(samples.get(key) ?? []), s]);
      console.log(`${name.padEnd(12)} ${path.padEnd(8)} ${String(Math.round(s.cpu)).padStart(6)} µs CPU/call  ${s.wallMs.toFixed(3)} ms wall/call  r/w ${s.reads.toFixed(2)}/${s.writes.toFixed(2)}  (load ${loadavg()[0]!.toFixed(2)})`);
    }
  } finally {
    await pool.close();
    await gw.close();
  }
}

const started = new Date();
const loads: number[] = [];
for (let rep = 0; rep < REPS; rep++) {
  const shift = Math.round((rep * names.length) / REPS);
  const order = [...names.slice(shift), ...names.slice(0, shift)];
  console.log(`— repetition ${rep + 1}/${REPS}: ${order.join(" ")}`);
  for (const name of order) {
    loads.push(loadavg()[0]!);
    await runConfig(name);
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const fmt = (x: number) => Math.round(x).toLocaleString("en-US");
const signed = (x: number) => (x > 0 ? "+" : x < 0 ? "−" : "±") + fmt(Math.abs(x));
const cell = (name: string, path: PathName) => {
  const mine = samples.get(`${name} ${path}`) ?? [];
  const base = samples.get(`all ${path}`) ?? [];
  const m = median(mine.map((s) => s.cpu));
  // Paired: this configuration minus `all` of the same repetition.
  const delta = name === "all" || base.length !== mine.length ? "" : ` (${signed(median(mine.map((s, i) => s.cpu - base[i]!.cpu)))})`;
  const io = `${median(mine.map((s) => s.reads)).toFixed(2)}/${median(mine.map((s) => s.writes)).toFixed(2)}`;
  return `${fmt(m)}${delta} | ${mine.map((s) => fmt(s.cpu)).join(" / ")} | ${io}`;
};
console.log(`\n${started.toISOString()} → ${new Date().toISOString()}, ${REPS} repetitions, ${REQUESTS} calls per path per replica after ${WARMUP} warm-up, ${CONNS} callers, load average (1 min) at each start ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)} (median ${median(loads).toFixed(1)})\n`);
console.log("| config | OpenAI µs/call (Δ vs all) | OpenAI runs | OpenAI r/w syscalls | Connect µs/call (Δ vs all) | Connect runs | Connect r/w syscalls |");
console.log("|---|---|---|---|---|---|---|");
for (const name of CONFIGS.keys()) if (names.includes(name)) console.log(`| \`${name}\` | ${cell(name, "openai")} | ${cell(name, "connect")} |`);
await upstream.stop();
process.exit(0);
