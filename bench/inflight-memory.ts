/**
 * What one model call in flight holds in the gateway while it waits for the provider — the
 * objects every scavenge copies at high concurrency (bench/README.md, "Memory per call in
 * flight"). A `production` replica (compiled; Postgres, Redis, the whole pipeline), warmed with
 * 200 calls; then N OpenAI-surface chat completions (or, with `--wire connect`, Connect `Chat`
 * calls sent by undici) with unique prompts (cache missed) that `bench/upstream.ts` holds without
 * an answer (`bench-slow-unary`), until it holds them all.
 * Reports the change in V8 heap used and external memory per call, each read after a full GC
 * (`bench/stream-memory-probe.mjs`); with `--snapshots DIR` also writes a heap snapshot before
 * and while they are in flight, for `bench/heap-diff.ts`.
 *
 *   node --import tsx bench/inflight-memory.ts [--calls 500] [--wire openai|connect] [--snapshots DIR]
 *
 * Needs DATABASE_URL and REDIS_URL.
 */
import { setMaxListeners } from "node:events";
import { resolve } from "node:path";
import { Pool } from "undici";
import { gatewaySnapshot, memoryProbe } from "./gateway-memory.js";
import { startNode } from "./processes.js";
import { connectChatRequest, openaiChatRequest } from "./raw-client.js";
import { startSwitchboard } from "./switchboard-setup.js";
import { arg, flag } from "./cli.js";

const CALLS = Number(arg("calls", "500"));
const WIRE = arg("wire", "openai");
if (WIRE !== "openai" && WIRE !== "connect") throw new Error(`--wire ${WIRE}: openai or connect`);
const snapshots = flag("snapshots") ? resolve(arg("snapshots", "")) : undefined;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const upstream = await startNode("bench/upstream.ts", ["0", "0"]);
const upstreamPool = new Pool(`http://127.0.0.1:${upstream.port}`, { connections: 2 });
const upstreamOpen = async () => Number(await (await upstreamPool.request({ path: "/open", method: "GET" })).body.text());

const probe = memoryProbe();
const gw = await startSwitchboard({
  upstreamUrl: `http://127.0.0.1:${upstream.port}`,
  mode: "production",
  nodeFlags: [...probe.nodeFlags, ...(snapshots === undefined ? [] : ["--heapsnapshot-signal=SIGUSR2", `--diagnostic-dir=${snapshots}`])],
  env: probe.env,
});
const pid = gw.process.pid!;
const pool = new Pool(gw.url, { connections: CALLS + 8, headersTimeout: 0, bodyTimeout: 0 });
const runId = Math.random().toString(36).slice(2, 8);
const post = (text: string, signal?: AbortSignal) =>
  pool.request({
    method: "POST",
    ...(WIRE === "openai" ? openaiChatRequest(`Bearer ${gw.key}`, text) : connectChatRequest(`Bearer ${gw.key}`, text)),
    ...(signal ? { signal } : {}),
  });
for (let i = 0; i < 200; i++) await (await post(`hello benchmark ${runId} warm ${i}`)).body.text();

const memory = () => probe.read(pid);
const snapshot = () => gatewaySnapshot(pid, snapshots);

await memory(); // a first GC lets go of the warm-up's garbage before the baseline
await sleep(1_000);
const m0 = await memory();
await snapshot();
const controller = new AbortController();
setMaxListeners(0, controller.signal);
const running = Array.from({ length: CALLS }, async (_, i) => {
  try {
    await (await post(`bench-slow-unary ${runId} ${i}`, controller.signal)).body.text();
  } catch {
    // aborted at the end
  }
});
const deadline = Date.now() + 60_000;
let open = 0;
while (Date.now() < deadline && (open = await upstreamOpen()) < CALLS) await sleep(250);
await sleep(500);
const m1 = await memory();
await snapshot();
controller.abort();
await Promise.all(running);
const kbPerCall = (a: number, b: number) => Math.round((b - a) / Math.max(1, open) / 10) / 100;
console.log(JSON.stringify({ open, heapUsedKbPerCall: kbPerCall(m0.heapUsed, m1.heapUsed), externalKbPerCall: kbPerCall(m0.external, m1.external) }));
await pool.close();
await upstreamPool.close();
await gw.close();
await upstream.stop();
process.exit(0);
