/**
 * P2 and P3 across three replicas: retries, fallbacks, 429s, cut streams, in-stream errors,
 * missing usage and clients that walk away mid-stream at random points. Every upstream request
 * the fake saw is exactly one ledger row (none lost, none twice), the ledger equals the budget
 * counters to the micro-dollar, and every answer's Usage equals the ledger rows of its request.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BudgetPeriod } from "../../gen/ts/switchboard/v1/error_details_pb.js";
import { words } from "../../server/limits/money-harness.testing.js";
import { createRandom } from "../../server/sandbox/seeded.js";
import type { ScriptStep } from "../fakes/fake-types.js";
import type { FakeProvider } from "../fakes/fake-types.js";
import { chatMessage, createAppKey, type MoneyClients, type Replicas } from "../support/money.js";
import { fakeTarget, startMoneyReplicas, type MoneyReplicas } from "../support/money-rig.js";

let rig: MoneyReplicas;
let fake: FakeProvider;
let replicas: Replicas;
let apps: MoneyClients[];

/** Seeds the generators (mulberry32), so a failing run can be replayed (MONEY_TEST_SEED). */
const SEED = Number(process.env.MONEY_TEST_SEED ?? 20261129);

beforeAll(async () => {
  rig = await startMoneyReplicas();
  ({ fake, replicas } = rig);
  const admin = rig.admin;
  await admin.routes.createRoute({
    routeId: "flaky",
    route: {
      targets: [fakeTarget("gpt-test", 0), fakeTarget("gpt-test-b", 1)],
      retry: { maxAttempts: 2, initialBackoff: { nanos: 1_000_000 }, maxBackoff: { nanos: 5_000_000 } },
    },
  });
  const app = await createAppKey(admin, "acme");
  await admin.budgets.createBudget({ parent: "orgs/acme", budgetId: "org", budget: { target: "orgs/acme", limitMicrosUsd: 10_000_000_000n, period: BudgetPeriod.MONTHLY } });
  await replicas.refresh();
  apps = rig.clients(app.secret);
  const rand = createRandom(SEED);
  const steps: ScriptStep[] = [
    { fault: { kind: "status", status: 503 } },
    { fault: { kind: "status", status: 429, retryAfterMs: 1 } },
    { reply: { text: words(16) }, fault: { kind: "cut" } },
    { reply: { text: words(8) }, fault: { kind: "missing_usage" } },
    { reply: { text: words(16) }, fault: { kind: "mid_stream_error" } },
    // Twice: a walk-away is billed `cancelled` only when it meets a stream still being sent (a
    // fast reply is whole in the client's buffer before its first delta is read).
    { reply: { text: words(24) }, fault: { kind: "slow_drip", delayMs: 8 } },
    { reply: { text: words(24) }, fault: { kind: "slow_drip", delayMs: 8 } },
    { reply: { text: words(6), usage: { input: 7, output: 6, cachedInput: 2 } } },
  ];
  for (let i = 0; i < 600; i++) fake.script(steps[Math.floor(rand() * steps.length)]!);
}, 30_000);
afterAll(async () => {
  await rig?.close();
});

describe("every attempt billed exactly once (P2, P3)", () => {
  it("matches the ledger to the fake's requests, to the budget counters and to every answer's Usage", async () => {
    const rand = createRandom(SEED + 1);
    const answered = new Map<string, bigint>();
    const codes = new Map<string, number>();
    await Promise.all(
      Array.from({ length: 16 }, async (_, client) => {
        for (let n = 0; n < 5; n++) {
          const gw = apps[Math.floor(rand() * 3)]!;
          const options = { route: "flaky", maxOutputTokens: 64 };
          const kind = rand();
          const abortAfter = 1 + Math.floor(rand() * 4);
          try {
            if (kind < 0.4) {
              const res = await gw.verbs.chat({ options, messages: chatMessage(`unary ${client} ${n}`) });
              answered.set(res.usage!.requestId, res.usage!.costMicrosUsd);
            } else {
              let deltas = 0;
              // The client walks away mid-stream: an abort resets the HTTP/2 stream (merely
              // leaving the loop would keep reading in the background).
              const walkAway = new AbortController();
              try {
                for await (const e of gw.verbs.chatStream({ options, messages: chatMessage(`stream ${client} ${n}`) }, { signal: walkAway.signal })) {
                  if (e.event.case === "delta" && ++deltas === abortAfter && kind > 0.55) walkAway.abort();
                  const terminal = e.event.case === "completed" ? e.event.value.usage : e.event.case === "upstreamError" ? e.event.value.usage : undefined;
                  if (terminal !== undefined) answered.set(terminal.requestId, terminal.costMicrosUsd);
                }
              } catch (e) {
                if (!walkAway.signal.aborted) throw e;
              }
            }
            codes.set("ok", (codes.get("ok") ?? 0) + 1);
          } catch (e) {
            const code = Code[ConnectError.from(e).code];
            codes.set(code, (codes.get(code) ?? 0) + 1);
          }
        }
      }),
    );
    expect([...codes.keys()].every((c) => ["ok", "Unavailable", "DeadlineExceeded"].includes(c)), JSON.stringify([...codes])).toBe(true);

    // An abandoned stream is billed on its replica once the cancellation reaches the provider:
    // read until every attempt the fake saw is in the ledger (at most 10 s), not once after a
    // fixed delay that a loaded machine can overrun.
    const gw = replicas.gateways[0]!;
    const all = { start: new Date(0), end: new Date(Date.now() + 60_000) };
    const attempts = async () => {
      await replicas.flush();
      return (await gw.money.usage.totals(all)).attempts;
    };
    await expect.poll(attempts, { timeout: 10_000, interval: 250 }).toBe(BigInt(fake.requests().length));
    const ledger = await gw.money.usage.totals(all);
    expect(ledger.attempts).toBe(BigInt(fake.requests().length));
    expect(ledger.cacheHits).toBe(0n);

    const status = await replicas.admins[2]!.budgets.getBudgetStatus({ name: "orgs/acme/budgets/org" });
    expect(status).toMatchObject({ spentMicrosUsd: ledger.costMicros, reservedMicrosUsd: 0n });

    const rows = [];
    for (let after: string | undefined, first = true; first || after !== undefined; first = false) {
      const page = await gw.money.usage.list({ ...all, limit: 500, ...(after ? { after } : {}) });
      rows.push(...page.items);
      after = page.after;
    }
    expect(rows.some((r) => r.estimated)).toBe(true);
    // The faults and walk-aways all happened: failed, cut and cancelled attempts are all billed.
    for (const outcome of ["success", "unavailable", "rate_limited", "stream_error", "cancelled"]) {
      expect(rows.some((r) => r.outcome === outcome), outcome).toBe(true);
    }
    for (const [requestId, cost] of answered) {
      expect(rows.filter((r) => r.requestId === requestId).reduce((a, r) => a + r.costMicros, 0n), requestId).toBe(cost);
    }
  }, 30_000);
});
