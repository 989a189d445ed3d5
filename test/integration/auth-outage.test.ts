/**
 * P8: a Postgres outage must not look like a revocation. The gateway reaches its own throwaway
 * database through a TCP proxy the test closes (connections refused and reset) or turns into a
 * black hole (connections hang), then brings back.
 */
import { Scope } from "../../gen/ts/switchboard/v1/options_pb.js";
import { generateSecret } from "../../server/auth/key-format.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clientsFor, outcome, type KeyedClients } from "../support/clients.js";
import { startGatewayBehindProxy, type GatewayBehindProxy } from "../support/gateway-behind-proxy.js";
import type { TestGateway } from "../support/gateway.js";
import type { TcpProxy } from "../support/tcp-proxy.js";

const TTL_MS = 400;
const MAX_STALE_MS = 3_000;
const LOOKUP_TIMEOUT_MS = 300;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let rig: GatewayBehindProxy;
let proxy: TcpProxy;
let gw: TestGateway;
let admin: KeyedClients;

beforeAll(async () => {
  rig = await startGatewayBehindProxy({ cacheTtlMs: TTL_MS, maxStaleMs: MAX_STALE_MS, lookupTimeoutMs: LOOKUP_TIMEOUT_MS, outageBackoffMs: 200 });
  ({ proxy, gw, admin } = rig);
  await admin.tenants.createTeam({ parent: "orgs/acme", teamId: "web", team: {} });
});
afterAll(async () => {
  await rig?.close();
});

async function newKey(): Promise<KeyedClients> {
  const { secret } = await admin.keys.createKey({ parent: "orgs/acme/teams/web", key: { scopes: [Scope.INVOKE] } });
  return clientsFor(gw.url, secret);
}

describe("auth during a Postgres outage", () => {
  it("closed database: cached keys work, unknown keys get Unavailable, malformed ones Unauthenticated; recovery is automatic", async () => {
    const seen = await newKey();
    const unseen = await newKey();
    expect(await seen.probe()).toBe("ok");

    await proxy.setMode("closed");
    await sleep(TTL_MS + 100); // the cached entry is stale now: only the outage keeps it usable
    expect(await seen.probe()).toBe("ok");
    expect(await unseen.probe()).toBe("Unavailable");
    expect(await clientsFor(gw.url, generateSecret()).probe()).toBe("Unavailable");
    expect(await clientsFor(gw.url, "sb_live_not-a-key").probe()).toBe("Unauthenticated");
    // Admin reads need the database: they fail, but the caller is never told its key is bad.
    expect(await outcome(admin.tenants.getOrg({ name: "orgs/acme" }))).not.toMatch(/ok|Unauthenticated|NotFound/);

    await sleep(MAX_STALE_MS); // past the stale bound: even a known key cannot be vouched for
    expect(await seen.probe()).toBe("Unavailable");

    await proxy.setMode("forward");
    await sleep(300); // the outage backoff
    expect(await seen.probe()).toBe("ok");
    expect(await unseen.probe()).toBe("ok");
    expect(gw.log.text()).toContain("key lookups cannot reach the database");
    expect(gw.log.text()).toContain("key lookups reach the database again");
  }, 30_000);

  it("hung database: no caller waits much longer than the lookup timeout", async () => {
    const seen = await newKey();
    const unseen = await newKey();
    expect(await seen.probe()).toBe("ok");

    await proxy.setMode("blackhole");
    await sleep(TTL_MS + 100);
    const started = performance.now();
    expect(await seen.probe()).toBe("ok");
    expect(await unseen.probe()).toBe("Unavailable");
    expect(await clientsFor(gw.url, generateSecret()).probe()).toBe("Unavailable");
    expect(performance.now() - started).toBeLessThan(3 * LOOKUP_TIMEOUT_MS + 500);

    await proxy.setMode("forward");
    await sleep(300);
    await expect.poll(() => unseen.probe(), { timeout: 5_000 }).toBe("ok");
    expect(await seen.probe()).toBe("ok");
  }, 30_000);
});
