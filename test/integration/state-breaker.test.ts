/**
 * P7, the state backend's circuit breaker: with Redis hung (a proxy that moves no bytes), the first
 * calls each wait out the command timeout and fail; once the breaker opens, budgeted and
 * rate-limited calls are refused (`Unavailable`, nothing sent upstream) in far less than the
 * command timeout, calls under no limit go on as before, and once Redis is back the breaker closes
 * by itself. The command timeout is raised to 1 s here so that "far less" is unmistakable.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createBreakerState, type StateWithBreaker } from "../../server/store/state/breaker-state.js";
import { createRedisState } from "../../server/store/state/redis-state.js";
import type { FakeProvider } from "../fakes/fake-types.js";
import { createLogCapture, type LogCapture } from "../support/log-capture.js";
import { chatMessage, type MoneyClients } from "../support/money.js";
import { createKeysByLimit, fakeTarget, startMoneyGateway, startProxiedRedis, type MoneyGateway, type ProxiedRedis } from "../support/money-rig.js";
import type { TcpProxy } from "../support/tcp-proxy.js";

const COMMAND_TIMEOUT_MS = 1000;
let rig: MoneyGateway;
let redis: ProxiedRedis;
let proxy: TcpProxy;
let fake: FakeProvider;
let guarded: StateWithBreaker;
let logs: LogCapture;
let capped: MoneyClients;
let limited: MoneyClients;
let free: MoneyClients;

const options = { route: "paid", maxOutputTokens: 20 };

/** One call: how long it took and how it ended. */
async function call(client: MoneyClients, label: string) {
  const started = performance.now();
  try {
    await client.verbs.chat({ options, messages: chatMessage(label) });
    return { ms: performance.now() - started, code: "ok", message: "" };
  } catch (e) {
    const err = ConnectError.from(e);
    return { ms: performance.now() - started, code: Code[err.code], message: err.rawMessage };
  }
}

async function calls(client: MoneyClients, n: number, label: string) {
  const out: Awaited<ReturnType<typeof call>>[] = [];
  for (let i = 0; i < n; i++) out.push(await call(client, `${label} ${i}`));
  return out;
}

beforeAll(async () => {
  redis = await startProxiedRedis("breaker");
  proxy = redis.proxy;
  logs = createLogCapture();
  // A cool-down of 3 s keeps the breaker open through the measured phase (no probe in it).
  guarded = createBreakerState(
    createRedisState({ url: redis.url, keyPrefix: redis.keys.prefix, commandTimeoutMs: COMMAND_TIMEOUT_MS, connectTimeoutMs: 1000 }),
    { logger: logs.logger },
    { coolDownMs: 3000 },
  );
  rig = await startMoneyGateway({ state: guarded.state });
  fake = rig.fake;
  await rig.admin.routes.createRoute({ routeId: "paid", route: { targets: [fakeTarget()], retry: { maxAttempts: 1 } } });
  ({ capped, limited, free } = await createKeysByLimit(rig, 1_000_000n));
  for (const c of [capped, limited, free]) expect((await call(c, "warm up")).code).toBe("ok");
}, 30_000);
afterAll(async () => {
  await rig?.close();
  await guarded?.state.close();
  await redis?.close();
});

describe("the state breaker with Redis hung (P7)", () => {
  it("opens, refuses limited calls far faster than the command timeout, lets unlimited calls through, and closes when Redis returns", async () => {
    expect(guarded.breaker.state()).toBe("closed");
    await proxy.setMode("blackhole");

    // Before the breaker opens: concurrent budgeted calls each wait out the command timeout.
    const first = await Promise.all([1, 2, 3, 4, 5, 6].map((i) => call(capped, `opening ${i}`)));
    expect(first.map((c) => c.code)).toEqual(Array(6).fill("Unavailable"));
    expect(Math.min(...first.map((c) => c.ms))).toBeGreaterThanOrEqual(COMMAND_TIMEOUT_MS * 0.9);
    await expect.poll(() => guarded.breaker.state(), { timeout: 5000, interval: 20 }).toBe("open");
    expect(guarded.breaker.opens()).toBe(1);
    expect(logs.lines().some((l) => l["msg"] === "state backend circuit opened: calls fail fast until a probe succeeds" && l["level"] === "warn")).toBe(true);

    // Open: refused at once, fail closed (nothing reaches the provider), same messages as before.
    const sentBefore = fake.requests().length;
    const rejectedBefore = guarded.breaker.rejected();
    const cappedDown = await calls(capped, 10, "capped down");
    const limitedDown = await calls(limited, 10, "limited down");
    expect(fake.requests().length).toBe(sentBefore);
    expect(cappedDown.map((c) => c.code)).toEqual(Array(10).fill("Unavailable"));
    expect(cappedDown.every((c) => c.message.includes("budget check is unavailable"))).toBe(true);
    expect(limitedDown.map((c) => c.code)).toEqual(Array(10).fill("Unavailable"));
    expect(limitedDown.every((c) => c.message.includes("rate-limit check is unavailable"))).toBe(true);
    expect(guarded.breaker.rejected()).toBeGreaterThanOrEqual(rejectedBefore + 20);
    // Far below the 1 s command timeout (bounds generous for a loaded 2-core machine).
    const refused = [...cappedDown, ...limitedDown].map((c) => c.ms).sort((a, b) => a - b);
    expect(refused[Math.floor(refused.length / 2)]!).toBeLessThan(150);
    expect(refused[refused.length - 1]!).toBeLessThan(COMMAND_TIMEOUT_MS / 2);

    // Calls under no limit never touch the state backend: they go on as before.
    const freeDown = await calls(free, 5, "free down");
    expect(freeDown.every((c) => c.code === "ok")).toBe(true);
    expect(fake.requests().length).toBe(sentBefore + 5);

    // Redis back: within a cool-down (3 s) plus the probe, the breaker closes and calls pass.
    await proxy.setMode("forward");
    await expect.poll(async () => (await call(capped, "heal")).code, { timeout: 15_000, interval: 200 }).toBe("ok");
    expect(guarded.breaker.state()).toBe("closed");
    expect((await calls(limited, 3, "limited up")).every((c) => c.code === "ok")).toBe(true);
    const transitions = logs.lines().filter((l) => typeof l["msg"] === "string" && (l["msg"] as string).startsWith("state backend circuit")).map((l) => l["to"]);
    expect(transitions.slice(0, 1)).toEqual(["open"]);
    expect(transitions.at(-1)).toBe("closed");
  }, 30_000);
});
