/**
 * Splits ChatStream's time to first token between the gateway and the measuring client: one
 * replica, the same stream measured by connect-node's clients (as `run.ts` does), by raw clients
 * that only frame the request and parse envelopes (undici for Connect over HTTP/1.1, node:http2
 * for gRPC), and the OpenAI surface's SSE beside them. The probes alternate call by call, so all
 * see the same machine load.
 *
 *   node --import tsx bench/ttft-split.ts [embedded|production] [--streams 300] [--unique] [--only PART] [--omit budget,…]
 *
 * Sequential streams after 50 unmeasured rounds; p50/p90 ms from the request to the first message
 * (any bytes) and to the first delta. One fixed prompt (a cache hit once cached, as in `run.ts`'s
 * TTFT rows) unless `--unique`. `--only PART` runs the probes whose name contains PART (e.g. `raw
 * client, gRPC`), so a CPU profile of the gateway (`SB_GATEWAY_NODE_FLAGS="--cpu-prof
 * --cpu-prof-dir=DIR"`) holds one kind of stream. `--omit LIST` leaves features of `production` out
 * (as `path-cost.ts`), to see what each adds to the time to first token. `production` needs
 * DATABASE_URL and REDIS_URL.
 */
import { connect as http2Connect } from "node:http2";
import { Pool } from "undici";
import { percentile } from "./load.js";
import { cpuMicros, ioSyscalls } from "./proc-stats.js";
import { benchChat, CHAT_STREAM_PATH as PATH, chatStreamEnvelope, deltaReader, grpcChatStream } from "./raw-client.js";
import { startNode } from "./processes.js";
import { hasOpenAIToken } from "./streams.js";
import { capabilityClients, omitFlag, startSwitchboard } from "./switchboard-setup.js";
import { arg, flag } from "./cli.js";

const MODE = process.argv[2] === "embedded" ? "embedded" : "production";
const STREAMS = Number(arg("streams", "300"));

/** When the first message and the first delta arrived, ms after the request started. */
type Probe = () => Promise<{ first: number; delta: number }>;

let sequence = 0;
const prompt = () => (flag("unique") ? `hello benchmark ${process.pid} ${sequence++}` : "hello benchmark");
const envelope = chatStreamEnvelope;

/** Times one stream: `chunks` yields its pieces; `isDelta` says whether a piece holds the first delta. */
async function timed<T>(start: number, chunks: AsyncIterable<T>, isDelta: (c: T) => boolean) {
  let first = -1;
  let delta = -1;
  for await (const c of chunks) {
    const at = performance.now() - start;
    if (first < 0) first = at;
    if (isDelta(c) && delta < 0) delta = at;
  }
  if (delta < 0) throw new Error("no delta in the stream");
  return { first, delta };
}

const upstream = await startNode("bench/upstream.ts", ["0", "0"]);
const gw = await startSwitchboard({ upstreamUrl: `http://127.0.0.1:${upstream.port}`, mode: MODE, omit: omitFlag() });
const { connect, grpc } = capabilityClients(gw);
const pool = new Pool(gw.url, { connections: 4 });
const session = http2Connect(gw.url);
const auth = `Bearer ${gw.key}`;

const probes: Record<string, Probe> = {
  "connect-node client, Connect": () => timed(performance.now(), connect.chatStream(benchChat(prompt())), (m) => m.event.case === "delta"),
  "connect-node client, gRPC": () => timed(performance.now(), grpc.chatStream(benchChat(prompt())), (m) => m.event.case === "delta"),
  "raw client, Connect (undici)": async () => {
    const start = performance.now();
    const headers = { "content-type": "application/connect+proto", "connect-protocol-version": "1", authorization: auth };
    const res = await pool.request({ path: PATH, method: "POST", headers, body: envelope(prompt()) });
    const read = deltaReader();
    return timed(start, res.body as AsyncIterable<Buffer>, read);
  },
  "raw client, gRPC (node:http2)": () => {
    const start = performance.now();
    const read = deltaReader();
    return timed(start, grpcChatStream(session, auth, prompt()) as AsyncIterable<Buffer>, read);
  },
  "OpenAI SSE (undici)": async () => {
    const start = performance.now();
    const body = JSON.stringify({ model: "bench", stream: true, messages: [{ role: "user", content: prompt() }] });
    const res = await pool.request({ path: "/v1/chat/completions", method: "POST", headers: { "content-type": "application/json", authorization: auth }, body });
    return timed(start, res.body as AsyncIterable<Buffer>, (c) => hasOpenAIToken(c.toString()));
  },
};

const names = Object.keys(probes).filter((n) => n.includes(arg("only", "")));
if (names.length === 0) throw new Error(`--only ${arg("only", "")}: no probe named like that (${Object.keys(probes).join("; ")})`);
const pid = gw.process.pid!;
const samples = new Map(names.map((n) => [n, { first: [] as number[], delta: [] as number[], cpu: 0, reads: 0, writes: 0 }]));
for (let i = 0; i < 50; i++) for (const n of names) await probes[n]!();
for (let i = 0; i < STREAMS; i++) {
  for (const n of names) {
    // One probe at a time: what the gateway spends meanwhile is this stream's (its timers aside).
    const cpu0 = cpuMicros(pid);
    const io0 = ioSyscalls(pid);
    const r = await probes[n]!();
    const io = ioSyscalls(pid);
    const s = samples.get(n)!;
    s.cpu += cpuMicros(pid) - cpu0;
    s.reads += io.reads - io0.reads;
    s.writes += io.writes - io0.writes;
    s.first.push(r.first);
    s.delta.push(r.delta);
  }
}
const ms = (xs: number[], p: number) => percentile(xs, p).toFixed(3);
process.stdout.write(
  `${MODE}, ${STREAMS} streams per probe${flag("unique") ? ", unique prompts" : ", one prompt"}\n\n| probe | first message p50 ms | first delta p50 ms | first delta p90 ms | gateway CPU µs per stream | gateway reads / writes per stream |\n|---|---|---|---|---|---|\n`,
);
for (const [n, s] of samples) {
  process.stdout.write(`| ${n} | ${ms(s.first, 50)} | ${ms(s.delta, 50)} | ${ms(s.delta, 90)} | ${Math.round(s.cpu / STREAMS)} | ${(s.reads / STREAMS).toFixed(1)} / ${(s.writes / STREAMS).toFixed(1)} |\n`);
}
session.close();
await pool.close();
await gw.close();
await upstream.stop();
