/**
 * Readiness follows Redis: a gateway whose state backend reaches Redis through a TCP proxy reports
 * `switchboard.readiness.state` NOT_SERVING (and `/readyz` degraded) once the proxy is closed,
 * keeps serving as a whole, and recovers when Redis is reachable again.
 */
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { Health, HealthCheckResponse_ServingStatus as ServingStatus } from "../../gen/ts/grpc/health/v1/health_pb.js";
import { createRedisState } from "../../server/store/state/redis-state.js";
import type { StateBackend } from "../../server/store/state/state-backend.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { requireEnv } from "../support/require-env.js";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.js";

let proxy: TcpProxy;
let state: StateBackend;
let gw: TestGateway;

beforeAll(async () => {
  const redis = new URL(requireEnv("REDIS_URL"));
  proxy = await startTcpProxy({ host: redis.hostname, port: Number(redis.port) });
  state = createRedisState({ url: proxy.rewrite(redis.toString()), keyPrefix: `sb-ready-${process.pid}:`, commandTimeoutMs: 100, connectTimeoutMs: 200 });
  gw = await startTestGateway({ state, readiness: { intervalMs: 50, timeoutMs: 300, fall: 2, rise: 2 } });
});
afterAll(async () => {
  await gw?.close();
  await state?.close();
  await proxy?.close();
});

const readyz = async () => (await (await fetch(`${gw.url}/readyz`)).json()) as { status: string; dependencies: Record<string, { status: string; reason?: string }> };

describe("readiness with Redis", () => {
  it("turns degraded when Redis goes away, without taking the server out, and recovers when it returns", async () => {
    const health = createClient(Health, createGrpcTransport({ baseUrl: gw.url }));
    const check = async (service: string) => (await health.check({ service })).status;
    // Both in one wait: on a loaded machine a ping may exceed the 100 ms command timeout twice in
    // a row, and the state flaps to down and back between two reads.
    const serving = async () => {
      expect((await readyz()).status).toBe("ready");
      expect(await check("switchboard.readiness.state")).toBe(ServingStatus.SERVING);
    };
    await vi.waitFor(serving, { timeout: 5_000, interval: 50 });

    await proxy.setMode("closed");
    await vi.waitFor(async () => expect(await check("switchboard.readiness.state")).toBe(ServingStatus.NOT_SERVING), { timeout: 5_000, interval: 50 });
    const degraded = await readyz();
    expect(degraded).toMatchObject({ status: "degraded", dependencies: { state: { status: "down" }, postgres: { status: "up" } } });
    expect((await fetch(`${gw.url}/readyz`)).status).toBe(200);
    expect(await check("")).toBe(ServingStatus.SERVING);
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    expect(metrics).toContain('switchboard_dependency_up{dependency="state"} 0');

    await proxy.setMode("forward");
    await vi.waitFor(serving, { timeout: 10_000, interval: 50 });
  });
});
