/**
 * Gateway overhead benchmark, all on loopback, bounded in time and count. Targets:
 *   direct        the OpenAI-wire upstream itself
 *   bare proxy    node:http + an undici pool (the floor a Node gateway can reach here)
 *   portkey       Portkey's open-source gateway (bench/node_modules only), OpenAI wire
 *   minimal …     issue #11's calibration gateway (bench/minimal-gateway.ts: the upstream call, three
 *                 Redis round trips and an access-log line, nothing else) on the OpenAI wire and on
 *                 Connect through connect-node; needs REDIS_URL
 *   sb …          Switchboard on its embedded default: Chat over Connect (HTTP/1.1, binary) and
 *                 gRPC (h2c), and the OpenAI-compatible /v1/chat/completions
 *   sb-full …     Switchboard, full production pipeline (Postgres, Redis, budget, rate limit,
 *                 guardrails, cache missed with unique prompts, request log, usage ledger), and
 *                 the same with every call a cache hit
 * For each: requests/s at saturation, CPU µs per request of the serving process (from /proc, the
 * most stable figure on these noisy 2-core machines), p50/p99 latency at 1, 16 and 64
 * connections and RSS (idle, under load); then the added time to first token of streams and the
 * memory 1,000 open streams hold. Ratios measured in one run are the figures to trust.
 *
 *   node --import tsx bench/run.ts [--delay-ms 0] [--seconds 4] [--repeat 1] [--conns 1,16,64]
 *     [--only direct,proxy,portkey,minimal,sb,full,ttft,streams] [--ttft-count 300] [--streams 1000]
 *     [--warmup 3000] [--tenants 64] [--out bench/results/latest.json]
 * Every target first serves `--warmup` calls (16 callers, at most 10 s), not measured — a Switchboard
 * replica every kind of call first — since a replica's first thousands of calls run 30–50 % slower
 * while its JIT and pools warm (bench/README.md).
 * `--tenants N`: the full pipeline's replica serves N tenants configured alike, and its unary rows
 * spread their calls over the N keys in turn (default 64; 1 gives the single-tenant figures of
 * the runs before session 16).
 * `full` needs DATABASE_URL and REDIS_URL (eval "$(bash scripts/services.sh up)"); SB_BENCH_PROFILE=1
 * writes a CPU profile of each Switchboard replica to bench/results/profiles/.
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { connect as http2Connect, type ClientHttp2Session } from "node:http2";
import { cpus } from "node:os";
import { join, resolve } from "node:path";
import { createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { Pool } from "undici";
import { CapabilityService } from "../gen/ts/switchboard/v1/capability_service_pb.js";
import { median, percentile, runLoad } from "./load.js";
import { benchChat, CHAT_STREAM_PATH, chatStreamEnvelope, connectChat, deltaReader, grpcChatStream } from "./raw-client.js";
import { startNode, type BenchProcess } from "./processes.js";
import { cpuMicros, rssMb } from "./proc-stats.js";
import { memoryProbe } from "./gateway-memory.js";
import { hasOpenAIToken, measureOpenStreams, measureTtft, type OpenStreamsRow, type StreamProbe, type TtftRow } from "./streams.js";
import { bearerOf, startSwitchboard, type BenchGateway } from "./switchboard-setup.js";
import { arg } from "./cli.js";

const DELAY_MS = Number(arg("delay-ms", "0"));
const SECONDS = Number(arg("seconds", "4"));
const REPEAT = Math.max(1, Number(arg("repeat", "1")));
const CONCURRENCY = arg("conns", "1,16,64").split(",").map(Number);
const ONLY = new Set(arg("only", "direct,proxy,portkey,minimal,sb,full,ttft,streams").split(","));
const TTFT_COUNT = Number(arg("ttft-count", "300"));
const STREAMS = Number(arg("streams", "1000"));
const OUT = arg("out", "bench/results/latest.json");
const WARMUP = Number(arg("warmup", "3000"));
const TENANTS = Number(arg("tenants", "64"));
const ROOT = new URL("..", import.meta.url).pathname;
const PROFILE_DIR = process.env.SB_BENCH_PROFILE ? join(ROOT, "bench/results/profiles") : undefined;

/** One load point (median of `repeat` runs). */
interface Row {
  target: string;
  concurrency: number;
  rps: number;
  cpuUsPerReq: number;
  /** Lowest and highest CPU µs/request of the repeats. */
  cpuSpread: [number, number];
  p50: number;
  p99: number;
  errors: number;
  rssMb: number;
  /** Highest RSS sampled during the point. */
  rssPeakMb: number;
}

const round = (n: number) => Math.round(n * 1000) / 1000;

/** `--warmup` unmeasured calls (16 callers, at most 10 s). */
async function warmUp(send: (i: number) => Promise<void>): Promise<void> {
  let n = 0;
  await runLoad(() => send(n++), { concurrency: 16, durationMs: 10_000, maxRequests: WARMUP });
}

async function measure(target: string, pid: number, send: (i: number) => Promise<void>): Promise<Row[]> {
  let n = 0;
  const next = () => send(n++);
  await warmUp(send);
  const rows: Row[] = [];
  for (const concurrency of CONCURRENCY) {
    const runs: Omit<Row, "cpuSpread">[] = [];
    for (let r = 0; r < REPEAT; r++) {
      let peak = rssMb(pid);
      const sampler = setInterval(() => (peak = Math.max(peak, rssMb(pid))), 250);
      const cpu0 = cpuMicros(pid);
      const res = await runLoad(next, { concurrency, durationMs: SECONDS * 1_000, maxRequests: 200_000 });
      const cpu = cpuMicros(pid) - cpu0;
      clearInterval(sampler);
      runs.push({
        target,
        concurrency,
        rps: Math.round((res.ok / res.elapsedMs) * 1000),
        cpuUsPerReq: Math.round(cpu / Math.max(1, res.ok)),
        p50: round(percentile(res.latencies, 50)),
        p99: round(percentile(res.latencies, 99)),
        errors: res.errors,
        rssMb: Math.round(rssMb(pid)),
        rssPeakMb: Math.round(Math.max(peak, rssMb(pid))),
      });
    }
    const cpus = runs.map((r) => r.cpuUsPerReq);
    rows.push({
      target,
      concurrency,
      rps: median(runs.map((r) => r.rps)),
      cpuUsPerReq: median(cpus),
      cpuSpread: [Math.min(...cpus), Math.max(...cpus)],
      p50: median(runs.map((r) => r.p50)),
      p99: median(runs.map((r) => r.p99)),
      errors: runs.reduce((a, r) => a + r.errors, 0),
      rssMb: runs.at(-1)!.rssMb,
      rssPeakMb: Math.max(...runs.map((r) => r.rssPeakMb)),
    });
    process.stderr.write(`${target} c=${concurrency}: ${JSON.stringify(rows.at(-1))}\n`);
  }
  return rows;
}

const openaiBody = (text: string, stream = false) =>
  JSON.stringify({ model: "bench", messages: [{ role: "user", content: text }], ...(stream ? { stream: true } : {}) });

/** How one OpenAI-wire target is called: its pool and the headers it needs. */
interface OpenAITarget {
  pool: Pool;
  headers: Record<string, string>;
  /** The `authorization` of call `i`, when the calls spread over several keys (tenants). */
  bearer?: (i: number) => string;
}

const postChat = (t: OpenAITarget, prompt: (i: number) => string) => async (i: number) => {
  const headers = { "content-type": "application/json", ...t.headers, ...(t.bearer === undefined ? {} : { authorization: t.bearer(i) }) };
  const res = await t.pool.request({ path: "/v1/chat/completions", method: "POST", headers, body: openaiBody(prompt(i)) });
  await res.body.text();
  if (res.statusCode !== 200) throw new Error(String(res.statusCode));
};

/** The text of each probe's stream: one fixed prompt, or a new one each time (a cache miss). */
type Prompt = () => string;
const FIXED: Prompt = () => "hello benchmark";

const sseProbe = (t: OpenAITarget, prompt: Prompt = FIXED): StreamProbe => async () => {
  const started = performance.now();
  const res = await t.pool.request({ path: "/v1/chat/completions", method: "POST", headers: { "content-type": "application/json", ...t.headers }, body: openaiBody(prompt(), true) });
  if (res.statusCode !== 200) throw new Error(`${res.statusCode}: ${await res.body.text()}`);
  let firstTokenMs = -1;
  for await (const c of res.body) if (firstTokenMs < 0 && hasOpenAIToken((c as Buffer).toString())) firstTokenMs = performance.now() - started;
  if (firstTokenMs < 0) throw new Error("no token in the stream");
  return { firstTokenMs };
};

const chatStreamProbe = (client: Client<typeof CapabilityService>, prompt: Prompt = FIXED): StreamProbe => async () => {
  const text = prompt();
  const started = performance.now();
  let firstTokenMs = -1;
  for await (const m of client.chatStream(benchChat(text))) if (firstTokenMs < 0 && m.event.case === "delta") firstTokenMs = performance.now() - started;
  if (firstTokenMs < 0) throw new Error("no delta in the stream");
  return { firstTokenMs };
};

/**
 * ChatStream over the Connect protocol on HTTP/1.1 with a raw undici client — the same client as
 * the SSE probes — so the "added" figure is the gateway's, without connect-node's client.
 */
const rawChatStreamProbe = (t: OpenAITarget, prompt: Prompt = FIXED): StreamProbe => {
  const headers = { "content-type": "application/connect+proto", "connect-protocol-version": "1", ...t.headers };
  return async () => {
    const body = chatStreamEnvelope(prompt());
    const started = performance.now();
    const res = await t.pool.request({ path: CHAT_STREAM_PATH, method: "POST", headers, body });
    if (res.statusCode !== 200) throw new Error(`${res.statusCode}: ${await res.body.text()}`);
    const read = deltaReader();
    let firstTokenMs = -1;
    for await (const chunk of res.body) if (read(chunk as Buffer) && firstTokenMs < 0) firstTokenMs = performance.now() - started;
    if (firstTokenMs < 0) throw new Error("no delta in the stream");
    return { firstTokenMs };
  };
};

/** ChatStream over gRPC (h2c) with a raw node:http2 client, for the same reason as {@link rawChatStreamProbe}. */
const rawGrpcChatStreamProbe = (session: ClientHttp2Session, authorization: string, prompt: Prompt = FIXED): StreamProbe => async () => {
  const text = prompt();
  const started = performance.now();
  const read = deltaReader();
  let firstTokenMs = -1;
  for await (const chunk of grpcChatStream(session, authorization, text)) if (read(chunk as Buffer) && firstTokenMs < 0) firstTokenMs = performance.now() - started;
  if (firstTokenMs < 0) throw new Error("no delta in the stream");
  return { firstTokenMs };
};

const openSse = (t: OpenAITarget) => async (signal: AbortSignal) => {
  const res = await t.pool.request({ path: "/v1/chat/completions", method: "POST", headers: { "content-type": "application/json", ...t.headers }, body: openaiBody("bench-slow-stream", true), signal });
  for await (const _ of res.body) void _;
};

const openChatStream = (client: Client<typeof CapabilityService>) => async (signal: AbortSignal) => {
  for await (const _ of client.chatStream(benchChat("bench-slow-stream"), { signal })) void _;
};

/**
 * Clients of one Switchboard replica. The unary calls spread over its tenants' keys in turn
 * (`--tenants`), as a gateway serving many tenants sees them: per-tenant state — rate-limit
 * windows, budget counters, cache entries — is then spread too, and what the gateway batches per
 * tenant is not flattered; streams use the first key.
 */
function switchboardClients(gw: BenchGateway, streams: number) {
  let turn = 0;
  const bearer = (i: number) => bearerOf(gw, i);
  const withKey: Interceptor = (next) => (req) => {
    req.header.set("authorization", req.stream ? `Bearer ${gw.key}` : bearer(turn++));
    return next(req);
  };
  const openai: OpenAITarget = { pool: new Pool(gw.url, { connections: Math.max(128, streams + 16) }), headers: { authorization: `Bearer ${gw.key}` } };
  return {
    bearer,
    connect: createClient(CapabilityService, createConnectTransport({ baseUrl: gw.url, httpVersion: "1.1", useBinaryFormat: true, interceptors: [withKey] })),
    grpc: createClient(CapabilityService, createGrpcTransport({ baseUrl: gw.url, interceptors: [withKey] })),
    /** Streams (the first key). */
    openai,
    /** Unary calls (the tenants' keys in turn), on the same pool. */
    openaiUnary: { ...openai, bearer } satisfies OpenAITarget,
  };
}

async function main(): Promise<void> {
  const procs: BenchProcess[] = [];
  const gateways: BenchGateway[] = [];
  const pools: Pool[] = [];
  const pool = (url: string, connections = 128) => {
    const p = new Pool(url, { connections });
    pools.push(p);
    return p;
  };
  const upstream = await startNode("bench/upstream.ts", ["0", String(DELAY_MS)]);
  procs.push(upstream);
  const upstreamUrl = `http://127.0.0.1:${upstream.port}`;
  const direct: OpenAITarget = { pool: pool(upstreamUrl, Math.max(128, STREAMS + 16)), headers: {} };
  const upstreamOpen = async () => Number(await (await direct.pool.request({ path: "/open", method: "GET" })).body.text());

  const rows: Row[] = [];
  const ttft: TtftRow[] = [];
  const openStreams: OpenStreamsRow[] = [];
  const rssIdle: Record<string, number> = {};
  const runId = Math.random().toString(36).slice(2, 8);
  // Never the same twice in the whole run (a cache miss): one counter for every row, since each
  // `measure` restarts its own index and a later row would otherwise hit what an earlier one stored.
  let sequence = 0;
  const unique = () => `hello benchmark ${runId} ${sequence++}`;

  if (ONLY.has("direct")) rows.push(...(await measure("direct", upstream.pid, postChat(direct, FIXED))));
  if (ONLY.has("ttft")) ttft.push(await measureTtft("direct SSE", sseProbe(direct), TTFT_COUNT));

  if (ONLY.has("proxy")) {
    const proxy = await startNode("bench/bare-proxy.ts", ["0", upstreamUrl]);
    procs.push(proxy);
    const t: OpenAITarget = { pool: pool(`http://127.0.0.1:${proxy.port}`), headers: {} };
    rssIdle["bare proxy"] = Math.round(rssMb(proxy.pid));
    rows.push(...(await measure("bare proxy", proxy.pid, postChat(t, FIXED))));
    if (ONLY.has("ttft")) ttft.push(await measureTtft("bare proxy SSE", sseProbe(t), TTFT_COUNT));
  }

  if (ONLY.has("minimal")) {
    if (process.env.REDIS_URL === undefined) process.stderr.write("minimal: skipped (set REDIS_URL)\n");
    else {
      const key = "sb-bench-minimal";
      const minimal = await startNode("bench/minimal-gateway.ts", ["0", upstreamUrl, process.env.REDIS_URL, key]);
      procs.push(minimal);
      const t: OpenAITarget = { pool: pool(`http://127.0.0.1:${minimal.port}`), headers: { authorization: `Bearer ${key}` } };
      rssIdle.minimal = Math.round(rssMb(minimal.pid));
      rows.push(...(await measure("minimal openai", minimal.pid, postChat(t, unique))));
      rows.push(...(await measure("minimal connect (raw client)", minimal.pid, () => connectChat(t.pool, `Bearer ${key}`, unique()))));
      await minimal.stop();
    }
  }

  if (ONLY.has("portkey")) {
    if (!existsSync(join(ROOT, "bench/node_modules/@portkey-ai/gateway"))) {
      process.stderr.write("portkey: skipped (run `cd bench && npm ci --ignore-scripts` first)\n");
    } else {
      const probe = memoryProbe();
      const portkey = await startNode("bench/portkey-server.ts", ["0"], { nodeFlags: probe.nodeFlags, env: probe.env });
      procs.push(portkey);
      const t: OpenAITarget = {
        pool: pool(`http://127.0.0.1:${portkey.port}`, Math.max(128, STREAMS + 16)),
        headers: { "x-portkey-provider": "openai", "x-portkey-custom-host": `${upstreamUrl}/v1`, authorization: "Bearer sk-bench-not-a-real-key" },
      };
      rssIdle.portkey = Math.round(rssMb(portkey.pid));
      rows.push(...(await measure("portkey", portkey.pid, postChat(t, FIXED))));
      if (ONLY.has("ttft")) ttft.push(await measureTtft("portkey SSE", sseProbe(t), TTFT_COUNT));
      if (ONLY.has("streams")) openStreams.push(await measureOpenStreams({ target: "portkey SSE", pid: portkey.pid, count: STREAMS, open: openSse(t), upstreamOpen, memory: () => probe.read(portkey.pid) }));
      await portkey.stop();
    }
  }

  const modes: ("embedded" | "production")[] = [];
  if (ONLY.has("sb")) modes.push("embedded");
  if (ONLY.has("full")) {
    if (process.env.DATABASE_URL && process.env.REDIS_URL) modes.push("production");
    else process.stderr.write("sb-full: skipped (set DATABASE_URL and REDIS_URL: eval \"$(bash scripts/services.sh up)\")\n");
  }
  for (const mode of modes) {
    // Every measured Node process runs with the memory probe (`--expose-gc` and a SIGWINCH
    // handler, idle until the open-streams rows), so their memory is read after a full GC.
    const probe = memoryProbe();
    const gw = await startSwitchboard({ upstreamUrl, mode, tenants: mode === "production" ? TENANTS : 1, nodeFlags: probe.nodeFlags, env: probe.env, ...(PROFILE_DIR ? { profileDir: PROFILE_DIR } : {}) });
    gateways.push(gw);
    const name = mode === "embedded" ? "sb" : "sb-full";
    const c = switchboardClients(gw, STREAMS);
    pools.push(c.openai.pool);
    const pid = gw.process.pid;
    const prompt = mode === "embedded" ? FIXED : unique;
    // A first call of each kind must succeed, or the rows would measure errors.
    await c.connect.chat(benchChat("hello benchmark"));
    await postChat(c.openai, FIXED)(0);
    rssIdle[name] = Math.round(rssMb(pid));
    const kinds: [string, (i: number) => Promise<void>][] = [
      [`${name} connect`, async () => void (await c.connect.chat(benchChat(prompt())))],
      // The same call sent by undici, as the OpenAI rows are: the gateway's cost without connect-node's client on the shared cores.
      [`${name} connect (raw client)`, (i) => connectChat(c.openai.pool, c.bearer(i), prompt())],
      [`${name} grpc`, async () => void (await c.grpc.chat(benchChat(prompt())))],
      [`${name} openai`, postChat(c.openaiUnary, prompt)],
    ];
    // Every kind of call warms the replica before its first row: the paths share the pipeline, and
    // a row measured while the JIT still compiles what a later row also runs is charged for it.
    for (const [, send] of kinds) await warmUp(send);
    for (const [target, send] of kinds) rows.push(...(await measure(target, pid, send)));
    if (mode === "production") {
      // The cache-hit path: the same prompt every time (stored by the calls above).
      const hit = await c.connect.chat(benchChat("hello benchmark"));
      if (hit.usage?.cacheStatus === undefined) process.stderr.write("sb-full: the response carries no cache status\n");
      rows.push(...(await measure(`${name} connect cache hit`, pid, async () => void (await c.connect.chat(benchChat("hello benchmark"))))));
      rows.push(...(await measure(`${name} openai cache hit`, pid, postChat(c.openaiUnary, FIXED))));
    }
    if (ONLY.has("ttft")) {
      // As the unary rows: on the full pipeline every stream is a cache miss that goes to the
      // upstream (unique prompts), then the same streams as cache hits (one fixed prompt, replayed
      // by the cache stage); the embedded default has no cache.
      const passes: [string, Prompt][] = mode === "production" ? [["", unique], [" cache hit", FIXED]] : [["", FIXED]];
      for (const [suffix, text] of passes) {
        ttft.push(await measureTtft(`${name} ChatStream connect${suffix}`, chatStreamProbe(c.connect, text), TTFT_COUNT));
        ttft.push(await measureTtft(`${name} ChatStream connect (raw client)${suffix}`, rawChatStreamProbe(c.openai, text), TTFT_COUNT));
        ttft.push(await measureTtft(`${name} ChatStream grpc${suffix}`, chatStreamProbe(c.grpc, text), TTFT_COUNT));
        const session = http2Connect(gw.url);
        ttft.push(await measureTtft(`${name} ChatStream grpc (raw client)${suffix}`, rawGrpcChatStreamProbe(session, `Bearer ${gw.key}`, text), TTFT_COUNT));
        session.close();
        ttft.push(await measureTtft(`${name} openai SSE${suffix}`, sseProbe(c.openai, text), TTFT_COUNT));
      }
    }
    if (ONLY.has("streams")) {
      const memory = () => probe.read(pid);
      openStreams.push(await measureOpenStreams({ target: `${name} ChatStream grpc`, pid, count: STREAMS, open: openChatStream(c.grpc), upstreamOpen, memory }));
      openStreams.push(await measureOpenStreams({ target: `${name} openai SSE`, pid, count: STREAMS, open: openSse(c.openai), upstreamOpen, memory }));
    }
    await gw.close();
  }

  const machine = { cpus: cpus().length, model: cpus()[0]?.model ?? "", node: process.version, upstreamDelayMs: DELAY_MS, seconds: SECONDS, repeat: REPEAT };
  const summary = ratios(rows, ttft);
  mkdirSync(join(ROOT, "bench/results"), { recursive: true });
  writeFileSync(resolve(ROOT, OUT), JSON.stringify({ date: new Date().toISOString(), machine, only: [...ONLY], tenants: TENANTS, rows, ttft, openStreams, rssIdleMb: rssIdle, summary }, null, 2));
  process.stdout.write(report(rows, ttft, openStreams, rssIdle, summary));
  await Promise.all(pools.map((p) => p.close()));
  for (const p of procs) await p.stop();
  process.exit(0);
}

/** The target figures of the benchmark issue, from one run's rows. */
function ratios(rows: Row[], ttft: TtftRow[]) {
  const at = (target: string, c: number) => rows.find((r) => r.target === target && r.concurrency === c);
  const top = Math.max(...CONCURRENCY);
  const one = Math.min(...CONCURRENCY);
  const cpuRatio = (peer: string, ours: string) => {
    const p = at(peer, top);
    const o = at(ours, top);
    return p && o ? Math.round((p.cpuUsPerReq / o.cpuUsPerReq) * 100) / 100 : undefined;
  };
  const added = (target: string) => {
    const d = at("direct", one);
    const t = at(target, one);
    return d && t ? round(t.p50 - d.p50) : undefined;
  };
  const ttftOf = (target: string) => ttft.find((t) => t.target === target)?.p50;
  const addedTtft = (target: string) => {
    const d = ttftOf("direct SSE");
    const t = ttftOf(target);
    return d !== undefined && t !== undefined ? round(t - d) : undefined;
  };
  return {
    perCoreVsPortkey: {
      connectFull: cpuRatio("portkey", "sb-full connect"),
      connectFullRawClient: cpuRatio("portkey", "sb-full connect (raw client)"),
      openaiFull: cpuRatio("portkey", "sb-full openai"),
      connect: cpuRatio("portkey", "sb connect"),
      connectRawClient: cpuRatio("portkey", "sb connect (raw client)"),
      openai: cpuRatio("portkey", "sb openai"),
    },
    // Against the calibration gateway (its I/O and nothing else), same run: how many times its CPU a call costs.
    cpuVsMinimal: {
      openaiFull: cpuRatio("sb-full openai", "minimal openai"),
      connectFullRawClient: cpuRatio("sb-full connect (raw client)", "minimal connect (raw client)"),
    },
    addedP50AtOneConnMs: Object.fromEntries(rows.filter((r) => r.concurrency === one && r.target !== "direct").map((r) => [r.target, added(r.target)])),
    addedTtftP50Ms: Object.fromEntries(ttft.filter((t) => t.target !== "direct SSE").map((t) => [t.target, addedTtft(t.target)])),
  };
}

function report(rows: Row[], ttft: TtftRow[], open: OpenStreamsRow[], rssIdle: Record<string, number>, summary: ReturnType<typeof ratios>): string {
  const directP50 = new Map(rows.filter((r) => r.target === "direct").map((r) => [r.concurrency, r.p50]));
  const added = (r: Row) => (directP50.has(r.concurrency) && r.target !== "direct" ? String(round(r.p50 - directP50.get(r.concurrency)!)) : "—");
  const lines = [
    "| target | conns | req/s | CPU µs/req (spread) | p50 ms | added p50 ms | p99 ms | errors | RSS MB (peak) |",
    "|---|---|---|---|---|---|---|---|---|",
    ...rows.map((r) => `| ${r.target} | ${r.concurrency} | ${r.rps} | ${r.cpuUsPerReq} (${r.cpuSpread[0]}–${r.cpuSpread[1]}) | ${r.p50} | ${added(r)} | ${r.p99} | ${r.errors} | ${r.rssMb} (${r.rssPeakMb}) |`),
    "",
  ];
  if (ttft.length > 0) {
    const d = ttft.find((t) => t.target === "direct SSE")?.p50;
    lines.push("| stream | n | TTFT p50 ms | added p50 ms | TTFT p99 ms | errors |", "|---|---|---|---|---|---|");
    for (const t of ttft) lines.push(`| ${t.target} | ${t.streams} | ${t.p50} | ${d === undefined || t.target === "direct SSE" ? "—" : round(t.p50 - d)} | ${t.p99} | ${t.errors} |`);
    lines.push("");
  }
  if (open.length > 0) {
    lines.push("| open streams | open | heap + external KB per stream (after GC) | RSS before MB | RSS open MB | RSS MB per 1,000 |", "|---|---|---|---|---|---|");
    for (const o of open) lines.push(`| ${o.target} | ${o.open} | ${o.heapKbPerStream ?? "—"} | ${o.rssBeforeMb} | ${o.rssOpenMb} | ${o.mbPer1000} |`);
    lines.push("");
  }
  lines.push(`RSS idle MB: ${JSON.stringify(rssIdle)}`, `Summary: ${JSON.stringify(summary)}`, "");
  return lines.join("\n");
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
