/**
 * Budget soft-threshold alerts on three replicas sharing Postgres and Redis: crossing 50 % and
 * 80 % of a cap emits exactly one event each (one warn line in all the replicas' logs together,
 * one POST of the documented JSON), and a webhook that hangs neither fails nor slows requests.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BudgetPeriod } from "../../gen/ts/switchboard/v1/error_details_pb.js";
import type { BudgetAlertEvent } from "../../server/limits/budget-alerts.js";
import type { FakeProvider } from "../fakes/fake-types.js";
import { chatMessage, createAppKey, type MoneyClients, type Replicas } from "../support/money.js";
import { fakeTarget, startMoneyReplicas, type MoneyReplicas } from "../support/money-rig.js";

let rig: MoneyReplicas;
let fake: FakeProvider;
let replicas: Replicas;
let hook: Server;
let hookUrl: string;
const received: { path: string; headers: IncomingMessage["headers"]; body: BudgetAlertEvent }[] = [];
const hung: IncomingMessage[] = [];
let acme: MoneyClients[];
let beta: MoneyClients[];

const options = { route: "paid", maxOutputTokens: 10 };
/** Every call costs 100 µ$: 10 input tokens at 1 µ$ and 9 output tokens at 10 µ$. */
const step = { reply: { text: "ok", usage: { input: 10, output: 9 } } };
const alertLines = () => replicas.gateways.flatMap((gw) => gw.log.lines().filter((l) => l.alert !== undefined).map((l) => l.alert as BudgetAlertEvent));

beforeAll(async () => {
  hook = createServer((req, res) => {
    if (req.url === "/hang") {
      hung.push(req); // never answered: every attempt times out
      return;
    }
    let text = "";
    req.on("data", (c: Buffer) => (text += c.toString()));
    req.on("end", () => {
      received.push({ path: req.url ?? "", headers: req.headers, body: JSON.parse(text) as BudgetAlertEvent });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => hook.listen(0, "127.0.0.1", resolve));
  hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}`;
  rig = await startMoneyReplicas({ budgetAlerts: { webhookTimeoutMs: 200, webhookRetryDelayMs: 10 } });
  ({ fake, replicas } = rig);
  const admin = rig.admin;
  await admin.routes.createRoute({ routeId: "paid", route: { targets: [fakeTarget()], retry: { maxAttempts: 1 } } });
  const acmeKey = await createAppKey(admin, "acme");
  const betaKey = await createAppKey(admin, "beta");
  // Default thresholds (50/80/100 %), the budget's own webhook.
  await admin.budgets.createBudget({
    parent: "orgs/acme",
    budgetId: "monthly",
    budget: { target: "orgs/acme", limitMicrosUsd: 1000n, period: BudgetPeriod.MONTHLY, alertWebhookUrl: `${hookUrl}/ok` },
  });
  await admin.budgets.createBudget({
    parent: "orgs/beta",
    budgetId: "daily",
    budget: { target: "orgs/beta", limitMicrosUsd: 1000n, period: BudgetPeriod.DAILY, alertThresholdsPercent: [10], alertWebhookUrl: `${hookUrl}/hang` },
  });
  await replicas.refresh();
  acme = rig.clients(acmeKey.secret);
  beta = rig.clients(betaKey.secret);
}, 30_000);
afterAll(async () => {
  await rig?.close();
  for (const req of hung) req.socket.destroy();
  await new Promise((resolve) => hook?.close(resolve));
});

describe("budget soft-threshold alerts (three replicas)", () => {
  it("emits 50 % and 80 % exactly once each, as one log line and one POST of the documented JSON", async () => {
    for (let i = 0; i < 9; i++) fake.script(step);
    // Nine calls at once, three per replica: 900 µ$ of 1000, so 50 % and 80 % but not 100 %.
    await Promise.all(Array.from({ length: 9 }, (_, i) => acme[i % 3]!.verbs.chat({ options, messages: chatMessage(`call ${i}`) })));
    // Delivery is at least once: an attempt that outran the 200 ms timeout on a loaded machine is
    // sent again with the same event id, which is what a receiver deduplicates on. Events, not
    // POSTs, are what must be exactly two.
    const eventsSeen = () => new Set(received.filter((r) => r.path === "/ok").map((r) => r.body.id)).size;
    await expect.poll(eventsSeen, { timeout: 5000 }).toBe(2);
    await new Promise((resolve) => setTimeout(resolve, 300)); // room for a third event, were there one
    expect(eventsSeen()).toBe(2);
    const byId = new Map(received.filter((r) => r.path === "/ok").map((r) => [r.body.id, r] as const));
    for (const r of received.filter((p) => p.path === "/ok")) expect(r.body).toEqual(byId.get(r.body.id)!.body);
    const posts = [...byId.values()];
    expect(posts.map((p) => p.body.thresholdPercent).sort()).toEqual([50, 80]);
    const status = await replicas.admins[0]!.budgets.getBudgetStatus({ name: "orgs/acme/budgets/monthly" });
    expect(status.spentMicrosUsd).toBe(900n);
    const periodKey = status.periodStartTime!.seconds;
    for (const { body, headers } of posts) {
      expect(headers["content-type"]).toBe("application/json");
      expect(headers["x-switchboard-event-id"]).toBe(body.id);
      expect(Object.keys(body).sort()).toEqual(
        ["type", "id", "budget", "level", "orgId", "thresholdPercent", "limitMicrosUsd", "spentMicrosUsd", "period", "periodStart", "periodEnd", "occurredAt"].sort(),
      );
      expect(body).toMatchObject({ type: "budget.threshold_crossed", budget: "orgs/acme/budgets/monthly", level: "org", limitMicrosUsd: "1000", period: "monthly" });
      expect(body.id).toMatch(new RegExp(`^orgs/acme/budgets/monthly:\\d{4}-\\d{2}:${body.thresholdPercent}$`));
      expect(Date.parse(body.periodStart)).toBe(Number(periodKey) * 1000);
      expect(Date.parse(body.periodEnd!)).toBe(Number(status.periodEndTime!.seconds) * 1000);
      // Spend when the crossing was seen: at or above the threshold, never above what was spent.
      expect(BigInt(body.spentMicrosUsd) * 100n).toBeGreaterThanOrEqual(1000n * BigInt(body.thresholdPercent));
      expect(BigInt(body.spentMicrosUsd)).toBeLessThanOrEqual(900n);
    }
    const lines = alertLines().filter((a) => a.budget === "orgs/acme/budgets/monthly");
    expect(lines.map((a) => a.thresholdPercent).sort()).toEqual([50, 80]);
    // The once-markers expire (P6): every key the replicas wrote has a TTL.
    const ttls = await replicas.keys.ttls();
    const markers = [...ttls].filter(([k]) => k.startsWith("budget-alert:"));
    expect(markers.length).toBeGreaterThanOrEqual(2);
    for (const [key, ttl] of ttls) expect(ttl, key).toBeGreaterThan(0);
  }, 20_000);

  it("a webhook that never answers neither fails nor slows the calls; the delivery failure is logged", async () => {
    for (let i = 0; i < 3; i++) fake.script(step);
    const started = Date.now();
    for (let i = 0; i < 3; i++) {
      const res = await beta[i]!.verbs.chat({ options, messages: chatMessage(`beta ${i}`) });
      expect(res.usage!.costMicrosUsd).toBe(100n);
    }
    // Four attempts of 200 ms each would be 800 ms per call if the path waited on them.
    expect(Date.now() - started).toBeLessThan(1500);
    await expect.poll(() => hung.length, { timeout: 5000 }).toBeGreaterThanOrEqual(1);
    await expect
      .poll(() => replicas.gateways.some((gw) => gw.log.lines().some((l) => l.msg === "budget alert webhook delivery failed")), { timeout: 5000 })
      .toBe(true);
    expect(hung.length).toBe(4); // one event, four attempts (each timed out)
    expect(alertLines().filter((a) => a.budget === "orgs/beta/budgets/daily").map((a) => a.thresholdPercent)).toEqual([10]);
  }, 20_000);
});
