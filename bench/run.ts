/**
 * Gateway overhead benchmark, all on loopback, bounded in time and count. Targets:
 *   direct        the OpenAI-wire upstream itself
 *   bare proxy    node:http + an undici pool (the floor a Node gateway can reach here)
 *   sb connect    Switchboard CapabilityService/Chat over Connect (HTTP/1.1, binary), full pipeline
 *   sb grpc       the same over gRPC (h2c)
 *   sb openai     Switchboard's OpenAI-compatible /v1/chat/completions (when present)
 * For each: requests/s at saturation, CPU µs per request of the serving process (from /proc, the
 * most stable figure on these noisy 2-core machines), p50/p99 latency at 1, 16 and 64 connections
 * and RSS. Ratios measured in one run are the figures to trust.
 *
 *   node --import tsx bench/run.ts [--delay-ms 0] [--seconds 4] [--out bench/results/latest.json]
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { Pool } from "undici";
import { CapabilityService } from "../gen/ts/switchboard/v1/capability_service_pb.js";
import { Role } from "../gen/ts/switchboard/v1/chat_pb.js";
import { RouteService } from "../gen/ts/switchboard/v1/route_service_pb.js";
import { generateSecret } from "../server/auth/key-format.js";
import { percentile, runLoad, type LoadResult } from "./load.js";
import { cpuMicros, rssMb } from "./proc-stats.js";

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : process.argv[i + 1]!;
};
const DELAY_MS = Number(arg("delay-ms", "0"));
const SECONDS = Number(arg("seconds", "4"));
const OUT = arg("out", "bench/results/latest.json");
const CONCURRENCY = [1, 16, 64];
const ROOT = new URL("..", import.meta.url).pathname;

const children: ChildProcess[] = [];
process.on("exit", () => children.forEach((c) => c.kill("SIGKILL")));

/** Starts `node --import tsx <script> args…` and resolves with its pid and the port it prints. */
function startNode(script: string, args: string[], env: Record<string, string> = {}, readyLine = /^(\d+)$/m, nodeFlags: string[] = []): Promise<{ pid: number; port: number }> {
  const child = spawn(process.execPath, [...nodeFlags, "--import", "tsx", script, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = "";
    const onData = (c: Buffer) => {
      out += c.toString();
      const m = readyLine.exec(out);
      if (m) resolve({ pid: child.pid!, port: Number(m[1]) });
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) => reject(new Error(`${script} exited with ${code}:\n${out}`)));
  });
}

const chatBody = JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hello benchmark" }] });

interface Row {
  target: string;
  concurrency: number;
  rps: number;
  cpuUsPerReq: number;
  p50: number;
  p99: number;
  errors: number;
  rssMb: number;
}

async function measure(target: string, pid: number, send: () => Promise<void>): Promise<Row[]> {
  await runLoad(send, { concurrency: 16, durationMs: 1_000, maxRequests: 20_000 }); // warm-up, not measured
  const rows: Row[] = [];
  for (const concurrency of CONCURRENCY) {
    const cpu0 = cpuMicros(pid);
    const r: LoadResult = await runLoad(send, { concurrency, durationMs: SECONDS * 1_000, maxRequests: 200_000 });
    const cpu = cpuMicros(pid) - cpu0;
    rows.push({
      target,
      concurrency,
      rps: Math.round((r.ok / r.elapsedMs) * 1000),
      cpuUsPerReq: Math.round(cpu / Math.max(1, r.ok)),
      p50: round(percentile(r.latencies, 50)),
      p99: round(percentile(r.latencies, 99)),
      errors: r.errors,
      rssMb: Math.round(rssMb(pid)),
    });
    process.stderr.write(`${target} c=${concurrency}: ${JSON.stringify(rows.at(-1))}\n`);
  }
  return rows;
}

const round = (n: number) => Math.round(n * 1000) / 1000;

async function main(): Promise<void> {
  const upstream = await startNode("bench/upstream.ts", ["0", String(DELAY_MS)]);
  const upstreamUrl = `http://127.0.0.1:${upstream.port}`;
  const proxy = await startNode("bench/bare-proxy.ts", ["0", upstreamUrl]);
  const adminKey = generateSecret();
  const gateway = await startNode(
    "server/main.ts",
    [],
    {
      SWITCHBOARD_PORT: "0",
      SWITCHBOARD_DATA_DIR: mkdtempSync(join(tmpdir(), "sb-bench-")),
      SWITCHBOARD_BOOTSTRAP_KEY: adminKey,
      SWITCHBOARD_BASE_URL_OPENAI: `${upstreamUrl}/v1`,
      SWITCHBOARD_CREDENTIAL_OPENAI: "sk-bench-not-a-real-key",
      SWITCHBOARD_LOG_LEVEL: "info",
    },
    /"url":"http:\/\/127\.0\.0\.1:(\d+)"/,
    process.env.SB_BENCH_PROFILE ? ["--cpu-prof", "--cpu-prof-dir=bench/results/profiles"] : [],
  );
  const gatewayUrl = `http://127.0.0.1:${gateway.port}`;
  const withKey: Interceptor = (next) => (req) => {
    req.header.set("authorization", `Bearer ${adminKey}`);
    return next(req);
  };
  const connect = createConnectTransport({ baseUrl: gatewayUrl, httpVersion: "1.1", useBinaryFormat: true, interceptors: [withKey] });
  await createClient(RouteService, connect).createRoute({
    routeId: "bench",
    route: { targets: [{ provider: "openai", model: "gpt-4o-mini", credential: "credentials/openai" }] },
  });
  await new Promise((r) => setTimeout(r, 1_500)); // one route poll interval

  const pool = (url: string) => new Pool(url, { connections: 128 });
  const direct = pool(upstreamUrl);
  const viaProxy = pool(`http://127.0.0.1:${proxy.port}`);
  const viaGateway = pool(gatewayUrl);
  const post = (p: Pool, path: string, headers: Record<string, string> = {}) => async () => {
    const res = await p.request({ path, method: "POST", headers: { "content-type": "application/json", ...headers }, body: chatBody });
    await res.body.text();
    if (res.statusCode !== 200) throw new Error(String(res.statusCode));
  };
  const chatReq = { options: { route: "bench" }, messages: [{ role: Role.USER, content: [{ part: { case: "text" as const, value: "hello benchmark" } }] }] };
  const sbConnect = createClient(CapabilityService, connect);
  const sbGrpc = createClient(CapabilityService, createGrpcTransport({ baseUrl: gatewayUrl, interceptors: [withKey] }));

  const rows: Row[] = [];
  rows.push(...(await measure("direct", upstream.pid, post(direct, "/v1/chat/completions"))));
  rows.push(...(await measure("bare proxy", proxy.pid, post(viaProxy, "/v1/chat/completions"))));
  rows.push(...(await measure("sb connect", gateway.pid, async () => void (await sbConnect.chat(chatReq)))));
  rows.push(...(await measure("sb grpc", gateway.pid, async () => void (await sbGrpc.chat(chatReq)))));
  const probe = await viaGateway.request({ path: "/v1/chat/completions", method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${adminKey}` }, body: JSON.stringify({ model: "bench", messages: [{ role: "user", content: "x" }] }) });
  await probe.body.text();
  if (probe.statusCode === 200) {
    rows.push(...(await measure("sb openai", gateway.pid, post(viaGateway, "/v1/chat/completions", { authorization: `Bearer ${adminKey}` }).bind(null))));
  } else {
    process.stderr.write(`sb openai: skipped (the OpenAI-compatible surface answered ${probe.statusCode})\n`);
  }

  const machine = { cpus: cpus().length, model: cpus()[0]?.model ?? "", node: process.version, upstreamDelayMs: DELAY_MS, seconds: SECONDS };
  mkdirSync(join(ROOT, "bench/results"), { recursive: true });
  writeFileSync(join(ROOT, OUT), JSON.stringify({ date: new Date().toISOString(), machine, rows }, null, 2));
  process.stdout.write(table(rows));
  await Promise.all([direct.close(), viaProxy.close(), viaGateway.close()]);
  // A graceful stop lets a gateway started with --cpu-prof (SB_BENCH_PROFILE=1) write its profile.
  const gw = children.find((c) => c.pid === gateway.pid);
  if (gw && gw.exitCode === null) {
    gw.kill("SIGTERM");
    await new Promise((r) => gw.once("exit", r));
  }
  process.exit(0);
}

function table(rows: Row[]): string {
  const head = "| target | conns | req/s | CPU µs/req | p50 ms | p99 ms | errors | RSS MB |\n|---|---|---|---|---|---|---|---|\n";
  return head + rows.map((r) => `| ${r.target} | ${r.concurrency} | ${r.rps} | ${r.cpuUsPerReq} | ${r.p50} | ${r.p99} | ${r.errors} | ${r.rssMb} |`).join("\n") + "\n";
}

main().catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  process.exit(1);
});
