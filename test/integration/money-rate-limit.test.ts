/**
 * P5 and P6: an RPM limit holds across three replicas sharing Redis (not three times the limit),
 * refusals carry RateLimitExceeded with a retry delay, and every Redis key has a TTL afterwards.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RateLimitExceededSchema } from "../../gen/ts/switchboard/v1/error_details_pb.js";
import type { FakeProvider } from "../fakes/fake-types.js";
import { chatMessage, createAppKey, type MoneyClients, type Replicas } from "../support/money.js";
import { fakeTarget, startMoneyReplicas, type MoneyReplicas } from "../support/money-rig.js";

const RPM = 30;
let rig: MoneyReplicas;
let fake: FakeProvider;
let replicas: Replicas;
let apps: MoneyClients[];

beforeAll(async () => {
  rig = await startMoneyReplicas();
  ({ fake, replicas } = rig);
  const admin = rig.admin;
  await admin.routes.createRoute({ routeId: "paid", route: { targets: [fakeTarget()] } });
  const app = await createAppKey(admin, "acme");
  await admin.budgets.createRateLimit({ parent: "orgs/acme", rateLimitId: "key-rpm", rateLimit: { target: app.name, requestsPerMinute: BigInt(RPM) } });
  await replicas.refresh();
  apps = rig.clients(app.secret);
}, 30_000);
afterAll(async () => {
  await rig?.close();
});

describe("a global RPM limit (P5)", () => {
  it("admits the limit once across three replicas, whatever replica each call lands on", async () => {
    const outcomes = await Promise.all(
      Array.from({ length: 10 * RPM }, (_, i) =>
        apps[i % 3]!.verbs.chat({ options: { route: "paid", maxOutputTokens: 10 }, messages: chatMessage(`n${i}`) }).then(
          () => undefined,
          (e: unknown) => ConnectError.from(e),
        ),
      ),
    );
    const admitted = outcomes.filter((o) => o === undefined).length;
    const refused = outcomes.filter((o): o is ConnectError => o !== undefined);
    // A sliding window: exactly the limit within a window; a burst that straddles a window
    // boundary may see one more or one fewer (see StateBackend.hitWindow).
    expect(admitted).toBeGreaterThanOrEqual(RPM - 1);
    expect(admitted).toBeLessThanOrEqual(RPM + 1);
    expect(fake.requests()).toHaveLength(admitted);
    expect(refused.every((e) => e.code === Code.ResourceExhausted)).toBe(true);
    const detail = refused[0]!.findDetails(RateLimitExceededSchema)[0];
    expect(detail).toMatchObject({ rateLimit: "orgs/acme/rate-limits/key-rpm", limit: BigInt(RPM) });
    expect(detail?.retryDelay).toBeDefined();
  });

  it("leaves no Redis key without a TTL (P6)", async () => {
    const ttls = await replicas.keys.ttls();
    expect(ttls.size).toBeGreaterThan(0);
    for (const [key, ttl] of ttls) expect(ttl, key).toBeGreaterThan(0);
  });
});
