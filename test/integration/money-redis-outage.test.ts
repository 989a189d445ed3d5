/**
 * P7: Redis hung (a proxy that stops moving bytes, as SIGSTOP would) and Redis gone (connections
 * refused, as a killed process) while calls keep coming. With the default 50 ms command timeout a
 * call waits on Redis a bounded time; budget and rate-limit checks fail closed (`unavailable`,
 * nothing sent upstream: no unpriced spend), calls under no limit are untouched, and once Redis
 * is back the gateway heals by itself with the ledger, the counters and the cap in agreement.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemClock } from "../../server/clock.js";
import { createBudgetReservations } from "../../server/limits/budget-reservation.js";
import type { RedisKeySpace } from "../../server/limits/redis-key-space.testing.js";
import { createRedisState } from "../../server/store/state/redis-state.js";
import type { StateBackend } from "../../server/store/state/state-backend.js";
import type { FakeProvider } from "../fakes/fake-types.js";
import type { TestGateway } from "../support/gateway.js";
import { chatMessage, type MoneyClients } from "../support/money.js";
import { createKeysByLimit, fakeTarget, startMoneyGateway, startProxiedRedis, type MoneyGateway, type ProxiedRedis } from "../support/money-rig.js";
import type { TcpProxy, ProxyMode } from "../support/tcp-proxy.js";

const CAP = 1_000_000n;
let rig: MoneyGateway;
let redis: ProxiedRedis;
let proxy: TcpProxy;
let fake: FakeProvider;
let state: StateBackend;
let keys: RedisKeySpace;
let gw: TestGateway;
/** Under a key budget; under a rate limit only; under no limit at all. */
let capped: MoneyClients;
let limited: MoneyClients;
let free: MoneyClients;

const options = { route: "paid", maxOutputTokens: 20 };
const p = (values: number[], q: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * q))]!;

/** Runs `n` calls one after another; the latency of each and how it ended. */
async function calls(client: MoneyClients, n: number, label: string) {
  const out: { ms: number; code: string; message: string }[] = [];
  for (let i = 0; i < n; i++) {
    const started = performance.now();
    try {
      await client.verbs.chat({ options, messages: chatMessage(`${label} ${i}`) });
      out.push({ ms: performance.now() - started, code: "ok", message: "" });
    } catch (e) {
      const err = ConnectError.from(e);
      out.push({ ms: performance.now() - started, code: Code[err.code], message: err.rawMessage });
    }
  }
  return out;
}

beforeAll(async () => {
  redis = await startProxiedRedis("p7");
  ({ proxy, keys } = redis);
  // The production defaults: 50 ms per command; reconnecting in the background.
  state = createRedisState({ url: redis.url, keyPrefix: keys.prefix, commandTimeoutMs: 50, connectTimeoutMs: 500 });
  rig = await startMoneyGateway({ state });
  ({ fake, gw } = rig);
  await rig.admin.routes.createRoute({ routeId: "paid", route: { targets: [fakeTarget()], retry: { maxAttempts: 1 } } });
  ({ capped, limited, free } = await createKeysByLimit(rig, CAP));
  // Warm the key cache and the connection, so the phases measure Redis only.
  for (const c of [capped, limited, free]) await c.verbs.chat({ options, messages: chatMessage("warm up") });
}, 30_000);
afterAll(async () => {
  await rig?.close();
  await state?.close();
  await redis?.close();
});

describe("Redis hung or gone (P7)", () => {
  it.each<[string, ProxyMode]>([
    ["hung (no bytes move)", "blackhole"],
    ["gone (connections refused)", "closed"],
  ])("%s: bounded waits, budgets and rate limits fail closed, unlimited calls unaffected, healed after", async (_label, mode) => {
    // A healthy Redis can still miss a 50 ms timeout now and then on a loaded machine: such a
    // call is refused (never admitted unchecked), so a few refusals are tolerated here.
    const healthy = await calls(capped, 15, "healthy");
    expect(healthy.filter((c) => c.code !== "ok").length).toBeLessThanOrEqual(3);
    expect(healthy.every((c) => c.code === "ok" || c.code === "Unavailable")).toBe(true);
    const sentBefore = fake.requests().length;

    await proxy.setMode(mode);
    const cappedDown = await calls(capped, 15, "capped down");
    const limitedDown = await calls(limited, 10, "limited down");
    const sentDuring = fake.requests().length;
    const freeDown = await calls(free, 10, "free down");
    expect(fake.requests().length - sentDuring).toBe(10);

    // Fail closed: no call under a budget or a rate limit reached the provider.
    expect(sentDuring).toBe(sentBefore);
    expect(cappedDown.map((c) => c.code)).toEqual(Array(15).fill("Unavailable"));
    expect(cappedDown.every((c) => c.message.includes("budget check is unavailable"))).toBe(true);
    expect(limitedDown.map((c) => c.code)).toEqual(Array(10).fill("Unavailable"));
    expect(limitedDown.every((c) => c.message.includes("rate-limit check is unavailable"))).toBe(true);
    expect(freeDown.every((c) => c.code === "ok")).toBe(true);

    // Bounded: a refusal takes about one command timeout (50 ms) more than a healthy call;
    // the bounds are generous for a loaded 2-core machine, far below a hang.
    const base = p(healthy.filter((c) => c.code === "ok").map((c) => c.ms), 0.5);
    expect(p(cappedDown.map((c) => c.ms), 0.5) - base).toBeLessThan(250);
    expect(p(limitedDown.map((c) => c.ms), 0.5) - base).toBeLessThan(250);
    expect(Math.max(...cappedDown.map((c) => c.ms), ...limitedDown.map((c) => c.ms))).toBeLessThan(1500);
    expect(p(freeDown.map((c) => c.ms), 0.5) - base).toBeLessThan(100);

    // Back: the gateway heals by itself (no restart), within a few seconds.
    await proxy.setMode("forward");
    await expect.poll(async () => (await calls(capped, 1, "heal"))[0]!.code, { timeout: 10_000, interval: 100 }).toBe("ok");
    expect((await calls(limited, 3, "limited up")).every((c) => c.code === "ok")).toBe(true);

    // No overspend, and the counters agree with the ledger: spent ≤ cap; the counters' settled
    // spend equals the ledger's; nothing is still held once the calls are over (a hold whose
    // reply was lost to a timeout is given back in the background, not kept for 400 days).
    await gw.money.ledger.flush();
    const status = await rig.admin.budgets.getBudgetStatus({ name: "orgs/acme/budgets/cap" });
    expect(status.spentMicrosUsd).toBeGreaterThan(0n);
    expect(status.spentMicrosUsd).toBeLessThanOrEqual(CAP);
    const orgId = (await gw.money.usage.list({ start: new Date(0), end: new Date(Date.now() + 60_000), limit: 1 })).items[0]!.orgId;
    const ref = { id: "orgs/acme/budgets/cap", level: "key", limitMicros: CAP, period: "total", tz: "UTC" } as const;
    const counters = () => createBudgetReservations({ state, clock: systemClock }).snapshot(orgId, ref);
    await expect.poll(async () => { const c = await counters(); return { spent: c.spentMicros, reserved: c.reservedMicros }; }, { timeout: 8000, interval: 200 }).toEqual({ spent: status.spentMicrosUsd, reserved: 0n });
    const ttls = await keys.ttls();
    for (const [key, ttl] of ttls) expect(ttl, key).toBeGreaterThan(0);
  }, 25_000);
});
