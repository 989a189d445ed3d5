/**
 * What a gateway's resident memory is made of (issue #11): a replica — `production` (the full
 * pipeline) unless `--mode embedded` — (bench/switchboard-setup.ts, compiled) preloaded with bench/rss-probe.mjs, which appends, every
 * second, process.memoryUsage(), V8's heap spaces and /proc's RssAnon/RssFile to a JSONL file.
 * Idle (after configuration and one call of each kind), then a 1 s warm-up and `--seconds` of
 * 64-connection load on each of Connect, gRPC and the OpenAI wire (cache missed), then idle again; after each idle phase
 * a full GC. Prints the samples of each phase (last idle, peak under load, after GC).
 *
 *   node --import tsx bench/rss-breakdown.ts [--seconds 4] [--conns 64] [--node-flags "--max-semi-space-size=8"] [--snapshot] [--mode embedded]
 *
 * `--snapshot` also writes a heap snapshot of the idle replica (before the load) into the probe's
 * folder, for a by-constructor summary. `--mode embedded` measures the embedded default instead
 * (PGlite in the process, in-process state); the default `production` needs DATABASE_URL and
 * REDIS_URL.
 */
import { mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Pool } from "undici";
import { runLoad } from "./load.js";
import { startNode } from "./processes.js";
import { benchChat } from "./raw-client.js";
import { cpuMicros } from "./proc-stats.js";
import { capabilityClients, startSwitchboard } from "./switchboard-setup.js";
import { arg, flag } from "./cli.js";

const SECONDS = Number(arg("seconds", "4"));
const CONNS = Number(arg("conns", "64"));
const SNAPSHOT = flag("snapshot");
const MODE = arg("mode", "production");
if (MODE !== "production" && MODE !== "embedded") throw new Error(`--mode is production or embedded, got ${MODE}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const dir = mkdtempSync(join(tmpdir(), "sb-rss-"));
const upstream = await startNode("bench/upstream.ts", ["0", "0"]);
// The replica's own command line (not NODE_OPTIONS: Node refuses some V8 flags there, and the
// build step would inherit it).
const nodeFlags = ["--expose-gc", "--import", new URL("rss-probe.mjs", import.meta.url).pathname, ...arg("node-flags", "").split(" ").filter(Boolean)];
const gw = await startSwitchboard({ upstreamUrl: `http://127.0.0.1:${upstream.port}`, mode: MODE, nodeFlags, env: { SB_RSS_PROBE_DIR: dir } });
const pid = gw.process.pid;
const { connect, grpc } = capabilityClients(gw);
const openai = new Pool(gw.url, { connections: 128 });
const runId = Math.random().toString(36).slice(2, 8);
let sequence = 0;
const prompt = () => `hello benchmark ${runId} ${sequence++}`;
const postOpenAI = async () => {
  const res = await openai.request({
    path: "/v1/chat/completions",
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${gw.key}` },
    body: JSON.stringify({ model: "bench", messages: [{ role: "user", content: prompt() }] }),
  });
  await res.body.text();
  if (res.statusCode !== 200) throw new Error(String(res.statusCode));
};

type Sample = { t: number; tag: string; rss: number; heapTotal: number; heapUsed: number; external: number; arrayBuffers: number; rssAnon: number; rssFile: number; spaces: Record<string, { size: number; used: number }> };
const samples = (): Sample[] => {
  const file = readdirSync(dir).find((f) => f === `probe-${pid}.jsonl`);
  if (file === undefined) return [];
  return readFileSync(join(dir, file), "utf8").trim().split("\n").map((l) => JSON.parse(l)).filter((s) => s.rss !== undefined);
};
const mark = () => samples().length;
const row = (phase: string, s: Sample | undefined) => {
  if (s === undefined) return `| ${phase} | – |`;
  const sp = (n: string) => s.spaces[n]?.size ?? 0;
  return `| ${phase} | ${s.rss} | ${s.rssAnon} | ${s.rssFile} | ${s.heapTotal} | ${s.heapUsed} | ${sp("new_space")} | ${sp("old_space")} | ${sp("code_space")} | ${s.external} | ${s.arrayBuffers} |`;
};
const gcSample = async () => {
  const n = mark();
  process.kill(pid, "SIGWINCH");
  for (let i = 0; i < 50 && samples().slice(n).every((s) => s.tag !== "gc"); i++) await sleep(100);
  return samples().slice(n).find((s) => s.tag === "gc");
};

await connect.chat(benchChat("hello benchmark"));
await grpc.chat(benchChat("hello benchmark"));
await postOpenAI();
await sleep(3_000);
const lines = ["| phase | RSS | RssAnon | RssFile | heapTotal | heapUsed | new space | old space | code space | external | arrayBuffers |", "|---|---|---|---|---|---|---|---|---|---|---|"];
lines.push(row("idle", samples().at(-1)));
lines.push(row("idle, after GC", await gcSample()));
if (SNAPSHOT) {
  process.kill(pid, "SIGUSR2");
  await sleep(15_000);
}
const sends = [async () => void (await connect.chat(benchChat(prompt()))), async () => void (await grpc.chat(benchChat(prompt()))), postOpenAI];
for (const send of sends) await runLoad(send, { concurrency: 16, durationMs: 1_000, maxRequests: 20_000 }); // warm-up
const from = mark();
let ok = 0;
let errors = 0;
const cpu0 = cpuMicros(pid);
for (const send of sends) {
  const res = await runLoad(send, { concurrency: CONNS, durationMs: SECONDS * 1_000, maxRequests: 200_000 });
  ok += res.ok;
  errors += res.errors;
}
const cpuPerReq = Math.round((cpuMicros(pid) - cpu0) / Math.max(1, ok));
const loaded = samples().slice(from);
lines.push(row(`load peak (${CONNS} conns)`, loaded.reduce((a, s) => (s.rss > a.rss ? s : a), loaded[0]!)));
lines.push(row("load, last sample", loaded.at(-1)));
await sleep(3_000);
lines.push(row("idle after load", samples().at(-1)));
lines.push(row("idle after load, after GC", await gcSample()));
process.stdout.write(`${lines.join("\n")}\n(MB; ${ok} requests under load (${errors} errors), ${cpuPerReq} CPU µs/request; samples in ${dir})\n`);
await openai.close();
await gw.close();
await upstream.stop();
process.exit(0);
