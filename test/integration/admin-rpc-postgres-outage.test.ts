/**
 * P8: while Postgres is unreachable, admin RPCs that need it fail with UNAVAILABLE (retry) —
 * not INTERNAL, which tells a client the failure is a server bug and is not retried — and
 * within the caller's deadline; they work again once Postgres is back, without a restart.
 * The gateway reaches its own throwaway database through a TCP proxy the test closes.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { outcome, type KeyedClients } from "../support/clients.js";
import { startGatewayBehindProxy, type GatewayBehindProxy } from "../support/gateway-behind-proxy.js";
import type { TestGateway } from "../support/gateway.js";
import type { TcpProxy } from "../support/tcp-proxy.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let rig: GatewayBehindProxy;
let proxy: TcpProxy;
let gw: TestGateway;
let admin: KeyedClients;

beforeAll(async () => {
  rig = await startGatewayBehindProxy({ cacheTtlMs: 400, maxStaleMs: 60_000, lookupTimeoutMs: 300, outageBackoffMs: 200 });
  ({ proxy, gw, admin } = rig);
});
afterAll(async () => {
  await rig?.close();
});

describe("admin RPCs during a Postgres outage", () => {
  afterEach(async () => {
    await proxy.setMode("forward");
  });

  it("closed database: reads and writes fail with Unavailable, and work again after it", async () => {
    expect(await outcome(admin.tenants.getOrg({ name: "orgs/acme" }))).toBe("ok");

    await proxy.setMode("closed");
    expect(await outcome(admin.tenants.getOrg({ name: "orgs/acme" }))).toBe("Unavailable");
    expect(await outcome(admin.tenants.listOrgs({}))).toBe("Unavailable");
    expect(await outcome(admin.tenants.createOrg({ orgId: "beta", org: { displayName: "Beta" } }))).toBe("Unavailable");

    await proxy.setMode("forward");
    await sleep(300);
    await expect.poll(() => outcome(admin.tenants.getOrg({ name: "orgs/acme" })), { timeout: 5_000 }).toBe("ok");
    // The write that failed left nothing behind.
    expect(await outcome(admin.tenants.getOrg({ name: "orgs/beta" }))).toBe("NotFound");
  }, 30_000);

  it("hung database: an admin read ends by the caller's deadline, and works again after it", async () => {
    await expect.poll(() => outcome(admin.tenants.getOrg({ name: "orgs/acme" })), { timeout: 5_000 }).toBe("ok");

    await proxy.setMode("blackhole");
    const started = performance.now();
    const code = await outcome(admin.tenants.getOrg({ name: "orgs/acme" }, { timeoutMs: 1_000 }));
    const tookMs = performance.now() - started;
    expect(["DeadlineExceeded", "Unavailable"]).toContain(code);
    expect(tookMs).toBeLessThan(1_500);

    await proxy.setMode("forward");
    await expect.poll(() => outcome(admin.tenants.getOrg({ name: "orgs/acme" }, { timeoutMs: 2_000 })), { timeout: 10_000 }).toBe("ok");
  }, 30_000);
});
