/**
 * What one open gRPC ChatStream costs the gateway: an embedded-default replica (PGlite, route
 * `bench` to `bench/upstream.ts`), 100 short streams to warm it, then N slow streams on one h2
 * connection, held until the upstream holds them all. Reports the change in RSS and, after a full
 * GC in the gateway, in V8 heap used and in external memory, per stream. With `--snapshots DIR` it
 * also writes a heap snapshot before and while they are open, for `bench/heap-diff.ts`.
 *
 *   node --import tsx bench/stream-memory.ts [--root DIR] [--loader tsx|no-keepnames] [--streams 1000] [--snapshots DIR]
 *
 * `--root` runs the gateway from another checkout (a before/after pair in one run); `--loader
 * no-keepnames` loads it through `bench/no-keepnames-loader.mjs` instead of tsx.
 */
import { spawn } from "node:child_process";
import { setMaxListeners } from "node:events";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { Pool } from "undici";
import { CapabilityService } from "../gen/ts/switchboard/v1/capability_service_pb.js";
import { RouteService } from "../gen/ts/switchboard/v1/route_service_pb.js";
import { generateSecret } from "../server/auth/key-format.js";
import { gatewaySnapshot, memoryProbe } from "./gateway-memory.js";
import { startNode } from "./processes.js";
import { benchChat } from "./raw-client.js";
import { rssMb } from "./proc-stats.js";
import { arg, flag } from "./cli.js";

const HERE = new URL(".", import.meta.url).pathname;
const root = resolve(arg("root", join(HERE, "..")));
const loader = arg("loader", "tsx");
const streams = Number(arg("streams", "1000"));
const snapshots = flag("snapshots") ? resolve(arg("snapshots", "")) : undefined;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const upstream = await startNode("bench/upstream.ts", ["0", "0"]);
const upstreamPool = new Pool(`http://127.0.0.1:${upstream.port}`, { connections: 2 });
const upstreamOpen = async () => Number(await (await upstreamPool.request({ path: "/open", method: "GET" })).body.text());

const adminKey = generateSecret();
const probe = memoryProbe();
const env: NodeJS.ProcessEnv = {
  ...process.env,
  SWITCHBOARD_PORT: "0",
  SWITCHBOARD_DATA_DIR: mkdtempSync(join(tmpdir(), "sb-mem-")),
  SWITCHBOARD_LEDGER_DIR: mkdtempSync(join(tmpdir(), "sb-mem-ledger-")), // never another run's
  SWITCHBOARD_BOOTSTRAP_KEY: adminKey,
  SWITCHBOARD_BASE_URL_OPENAI: `http://127.0.0.1:${upstream.port}/v1`,
  SWITCHBOARD_CREDENTIAL_OPENAI: "sk-bench-not-a-real-key",
  SWITCHBOARD_LOG_LEVEL: "info",
  SWITCHBOARD_MAX_IN_FLIGHT: "0",
  SWITCHBOARD_MAX_IN_FLIGHT_PER_KEY: "0",
  ...probe.env,
};
delete env.DATABASE_URL;
delete env.REDIS_URL;
const flags = [...probe.nodeFlags];
if (snapshots !== undefined) flags.push("--heapsnapshot-signal=SIGUSR2", `--diagnostic-dir=${snapshots}`);
flags.push("--import", loader === "tsx" ? "tsx" : join(HERE, "no-keepnames-loader.mjs"));
const gateway = spawn(process.execPath, [...flags, "server/main.ts"], { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
process.on("exit", () => gateway.kill("SIGKILL"));
const port = await new Promise<number>((ready, fail) => {
  let out = "";
  const onData = (chunk: Buffer) => {
    out = (out + chunk.toString()).slice(-8192);
    const m = /"url":"http:\/\/127\.0\.0\.1:(\d+)"/.exec(out);
    if (m) ready(Number(m[1]));
  };
  gateway.stdout!.on("data", onData);
  gateway.stderr!.on("data", onData);
  gateway.once("exit", (code) => fail(new Error(`the gateway exited with ${code}:\n${out}`)));
});
const url = `http://127.0.0.1:${port}`;
const withKey: Interceptor = (next) => (req) => {
  req.header.set("authorization", `Bearer ${adminKey}`);
  return next(req);
};
await createClient(RouteService, createConnectTransport({ baseUrl: url, httpVersion: "1.1", interceptors: [withKey] })).createRoute({
  routeId: "bench",
  route: { targets: [{ provider: "openai", model: "gpt-4o-mini", credential: "credentials/openai" }] },
});
await sleep(1_500); // one route poll
// The gateway lets one HTTP/2 connection hold 256 streams at once (MAX_CONCURRENT_STREAMS), so the
// streams are spread over connections of 200 each, as a pool of clients would.
const clients = Array.from({ length: Math.ceil(streams / 200) }, () => createClient(CapabilityService, createGrpcTransport({ baseUrl: url, interceptors: [withKey] })));
for (let i = 0; i < 100; i++) for (const client of clients) for await (const _ of client.chatStream(benchChat("hello benchmark"))) void _;

const memory = () => probe.read(gateway.pid!);
const snapshot = () => gatewaySnapshot(gateway.pid!, snapshots);

await memory(); // a first GC lets go of start-up garbage before the baseline
await sleep(1_000);
const m0 = await memory();
await sleep(500);
const rss0 = rssMb(gateway.pid!);
await snapshot();
const controller = new AbortController();
setMaxListeners(0, controller.signal);
const running = Array.from({ length: streams }, async (_, i) => {
  try {
    for await (const _ of clients[i % clients.length]!.chatStream(benchChat("bench-slow-stream"), { signal: controller.signal })) void _;
  } catch {
    // aborted at the end
  }
});
const deadline = Date.now() + 90_000;
let open = 0;
while (Date.now() < deadline && (open = await upstreamOpen()) < streams) await sleep(250);
await sleep(500);
const rss1 = rssMb(gateway.pid!);
const m1 = await memory();
await snapshot();
controller.abort();
await Promise.all(running);
const kbPerStream = (a: number, b: number) => Math.round((b - a) / Math.max(1, open) / 10) / 100;
console.log(
  JSON.stringify({
    root,
    loader,
    open,
    rssMbPer1000: Math.round(((rss1 - rss0) * 1000) / Math.max(1, open) * 10) / 10,
    heapUsedKbPerStream: kbPerStream(m0.heapUsed, m1.heapUsed),
    externalKbPerStream: kbPerStream(m0.external, m1.external),
  }),
);
gateway.kill("SIGTERM");
await upstream.stop();
process.exit(0);
