import { afterEach, describe, expect, it } from "vitest";
import { createLogCapture, type LogCapture } from "../../test/support/log-capture.js";
import { createMemoryState } from "../store/state/memory-state.js";
import type { StateBackend } from "../store/state/state-backend.js";
import type { WebhookPost } from "./budget-alert-webhook.js";
import { createBudgetAlerts, type BudgetAlertEvent, type BudgetAlertSettings, type BudgetAlerts } from "./budget-alerts.js";
import { createBudgetReservations, type BudgetRef } from "./budget-reservation.js";

const NOW = Date.parse("2026-11-29T12:00:00Z");
const clock = { now: () => NOW };
const budget: BudgetRef = { id: "orgs/acme/budgets/monthly", level: "org", limitMicros: 1000n, period: "monthly", tz: "UTC" };
let state: StateBackend;

afterEach(async () => {
  await state?.close();
});

interface Replica {
  alerts: BudgetAlerts;
  log: LogCapture;
  /** Reserves and settles a call of `micros` on `budget`, then tells the alerts, like the budget stage. */
  spend(micros: bigint): Promise<void>;
  /** Counter reads the alerts made (`snapshot`). */
  reads(): number;
}

/**
 * A replica: its own reservations and alerts over the shared `state`. `reported`: the alerts get
 * the settle's result, as from the budget stage; otherwise they read the counters.
 */
function replica(settings: BudgetAlertSettings | undefined, post?: WebhookPost, webhookUrl?: string, reported = true): Replica {
  const log = createLogCapture();
  const reservations = createBudgetReservations({ state, clock });
  let reads = 0;
  const counted = {
    snapshot: (...args: Parameters<typeof reservations.snapshot>) => {
      reads++;
      return reservations.snapshot(...args);
    },
  };
  const alerts = createBudgetAlerts(
    { state, reservations: counted, settingsOf: (id) => (id === budget.id ? settings : undefined), logger: log.logger, clock, ...(post ? { post } : {}) },
    { webhookRetryDelayMs: 1, webhookTimeoutMs: 200, ...(webhookUrl ? { webhookUrl } : {}) },
  );
  return {
    alerts,
    log,
    async spend(micros) {
      const outcome = await reservations.reserve({ tenant: "org_1", budgets: [budget], amountMicros: micros });
      if (!outcome.ok) throw new Error("refused");
      const settled = await reservations.settle(outcome.reservation, micros);
      alerts.afterSettle(outcome.reservation, reported ? settled : undefined);
    },
    reads: () => reads,
  };
}

const events = (log: LogCapture) => log.lines().filter((l) => l.alert !== undefined).map((l) => l.alert as BudgetAlertEvent);

describe("budget alerts", () => {
  it("fires each default threshold once, when settled spend reaches it, and not before", async () => {
    state = createMemoryState();
    const r = replica({ thresholdsPercent: [], webhookUrl: "" });
    await r.spend(400n);
    await r.alerts.drain();
    expect(events(r.log)).toEqual([]);
    await r.spend(100n); // 50 %
    await r.alerts.drain();
    await r.spend(100n); // 60 %: nothing new
    await r.alerts.drain();
    await r.spend(250n); // 85 %
    await r.alerts.drain();
    const fired = events(r.log);
    expect(fired.map((e) => e.thresholdPercent)).toEqual([50, 80]);
    expect(fired[0]).toEqual({
      type: "budget.threshold_crossed",
      id: `${budget.id}:2026-11:50`,
      budget: budget.id,
      level: "org",
      orgId: "org_1",
      thresholdPercent: 50,
      limitMicrosUsd: "1000",
      spentMicrosUsd: "500",
      period: "monthly",
      periodStart: "2026-11-01T00:00:00.000Z",
      periodEnd: "2026-12-01T00:00:00.000Z",
      occurredAt: new Date(NOW).toISOString(),
    });
    expect(r.log.lines().find((l) => l.alert !== undefined)).toMatchObject({ level: "warn" });
    await r.spend(150n); // exactly the cap: 100 %
    await r.alerts.drain();
    expect(events(r.log).map((e) => e.thresholdPercent)).toEqual([50, 80, 100]);
  });

  it("takes the spend from the settle's result, reading the counters only when the settle reported none", async () => {
    state = createMemoryState();
    const r = replica({ thresholdsPercent: [50, 80], webhookUrl: "" });
    await r.spend(300n);
    await r.spend(250n); // 55 %
    await r.alerts.drain();
    expect(events(r.log).map((e) => [e.thresholdPercent, e.spentMicrosUsd])).toEqual([[50, "550"]]);
    expect(r.reads()).toBe(0);
    const reading = replica({ thresholdsPercent: [50, 80], webhookUrl: "" }, undefined, undefined, false);
    await reading.spend(300n); // 85 %, seen through a read of the counters
    await reading.alerts.drain();
    expect(events(reading.log).map((e) => [e.thresholdPercent, e.spentMicrosUsd])).toEqual([[80, "850"]]);
    expect(reading.reads()).toBe(1);
  });

  it("fires once across replicas sharing the state, however many see the crossing at once", async () => {
    state = createMemoryState();
    const replicas = [0, 1, 2].map(() => replica({ thresholdsPercent: [30, 60], webhookUrl: "" }));
    await Promise.all(replicas.flatMap((r) => [r.spend(110n), r.spend(110n)])); // 660 µ$: 30 % and 60 %
    await Promise.all(replicas.map((r) => r.alerts.drain()));
    const all = replicas.flatMap((r) => events(r.log));
    expect(all.map((e) => e.thresholdPercent).sort()).toEqual([30, 60]);
    // Later settles on any replica add nothing for this period.
    await Promise.all(replicas.map((r) => r.spend(10n)));
    await Promise.all(replicas.map((r) => r.alerts.drain()));
    expect(replicas.flatMap((r) => events(r.log))).toHaveLength(2);
  });

  it("posts the event to the budget's webhook, retrying failures with the same event id", async () => {
    state = createMemoryState();
    const posts: { url: string; body: BudgetAlertEvent; id: string }[] = [];
    const statuses = [503, 200];
    const post: WebhookPost = async (url, body, headers) => {
      posts.push({ url, body: JSON.parse(body) as BudgetAlertEvent, id: headers["x-switchboard-event-id"]! });
      return statuses.shift() ?? 200;
    };
    const r = replica({ thresholdsPercent: [50], webhookUrl: "https://hooks.example/budget" }, post, "https://fallback.example/");
    await r.spend(600n);
    await r.alerts.drain();
    expect(posts).toHaveLength(2);
    expect(posts.map((p) => p.url)).toEqual(["https://hooks.example/budget", "https://hooks.example/budget"]);
    expect(posts.map((p) => p.id)).toEqual([`${budget.id}:2026-11:50`, `${budget.id}:2026-11:50`]);
    expect(posts[1]!.body).toMatchObject({ thresholdPercent: 50, spentMicrosUsd: "600" });
    expect(r.log.lines().some((l) => l.msg === "budget alert webhook delivery failed")).toBe(false);
  });

  it("uses the gateway-wide webhook when the budget has none, and logs (never throws) when every attempt fails", async () => {
    state = createMemoryState();
    let attempts = 0;
    const post: WebhookPost = async (url, _body, _headers, signal) => {
      attempts++;
      expect(url).toBe("https://fallback.example/alerts?token=secret");
      // Hangs until the attempt's timeout aborts it.
      return new Promise<number>((_, reject) => signal.addEventListener("abort", () => reject(signal.reason)));
    };
    const r = replica({ thresholdsPercent: [], webhookUrl: "" }, post, "https://fallback.example/alerts?token=secret");
    const started = Date.now();
    await r.spend(500n);
    expect(Date.now() - started).toBeLessThan(200); // the settle path never waits for the webhook
    await r.alerts.drain();
    expect(attempts).toBe(4);
    const failure = r.log.lines().find((l) => l.msg === "budget alert webhook delivery failed");
    expect(failure).toMatchObject({ webhook: "https://fallback.example/alerts", alertId: `${budget.id}:2026-11:50` });
    expect(r.log.text()).not.toContain("token=secret");
  });

  it("fires nothing for a budget deleted while a call on it ran: its own thresholds and webhook are gone, not replaced by the defaults", async () => {
    state = createMemoryState();
    const posted: string[] = [];
    const post: WebhookPost = async (url) => {
      posted.push(url);
      return 204;
    };
    // The catalog no longer knows the budget (deleted) when the call's settle tells the alerts.
    const r = replica(undefined, post, "https://fallback.example/alerts");
    await r.spend(900n);
    await r.alerts.drain();
    expect({ events: events(r.log), posted }).toEqual({ events: [], posted: [] });
  });

  it("skips the check when the state backend fails, and fires at the next settle once it answers", async () => {
    state = createMemoryState();
    const r = replica({ thresholdsPercent: [50], webhookUrl: "" });
    const increment = state.increment.bind(state);
    state.increment = async () => {
      throw new Error("redis down");
    };
    await r.spend(600n);
    await r.alerts.drain();
    expect(events(r.log)).toEqual([]);
    state.increment = increment;
    await r.spend(10n);
    await r.alerts.drain();
    expect(events(r.log).map((e) => e.spentMicrosUsd)).toEqual(["610"]);
  });

  it("fires anew, under an id naming the new counters, once a budget's counter epoch moved", async () => {
    state = createMemoryState();
    const log = createLogCapture();
    const reservations = createBudgetReservations({ state, clock });
    const alerts = createBudgetAlerts({ state, reservations, settingsOf: () => ({ thresholdsPercent: [], webhookUrl: "" }), logger: log.logger, clock }, {});
    const spend = async (b: BudgetRef, micros: bigint) => {
      const outcome = await reservations.reserve({ tenant: "org_1", budgets: [b], amountMicros: micros });
      if (!outcome.ok) throw new Error("refused");
      alerts.afterSettle(outcome.reservation, await reservations.settle(outcome.reservation, micros));
      await alerts.drain();
    };
    await spend(budget, 500n);
    // The same name, recreated (or its time zone changed): new counters, seeded from the ledger.
    await spend({ ...budget, counterEpoch: 4711n }, 500n);
    expect(events(log).map((e) => e.id)).toEqual([`${budget.id}:2026-11:50`, `${budget.id}#4711:2026-11:50`]);
  });
});

describe("budget alerts: which spend, which marker, which webhook", () => {
  it("judges each budget of a call by its own settled spend", async () => {
    state = createMemoryState();
    const log = createLogCapture();
    const reservations = createBudgetReservations({ state, clock });
    const key: BudgetRef = { id: "orgs/acme/budgets/key", level: "key", limitMicros: 100n, period: "monthly", tz: "UTC" };
    const alerts = createBudgetAlerts({ state, reservations, settingsOf: () => ({ thresholdsPercent: [50], webhookUrl: "" }), logger: log.logger, clock }, {});
    const spend = async (on: BudgetRef[], micros: bigint) => {
      const outcome = await reservations.reserve({ tenant: "org_1", budgets: on, amountMicros: micros });
      if (!outcome.ok) throw new Error("refused");
      alerts.afterSettle(outcome.reservation, await reservations.settle(outcome.reservation, micros));
      await alerts.drain();
    };
    await spend([budget], 450n); // the org's budget alone: 45 %
    await spend([key, budget], 60n); // the key: 60 %; the org: 510 µ$, 51 %
    expect(events(log).map((e) => [e.budget, e.spentMicrosUsd]).sort()).toEqual([
      [key.id, "60"],
      [budget.id, "510"],
    ]);
  });

  it("uses the gateway-wide webhook when the budget's own setting is empty", async () => {
    state = createMemoryState();
    const urls: string[] = [];
    const post: WebhookPost = async (url) => (urls.push(url), 200);
    const r = replica({ thresholdsPercent: [50], webhookUrl: "" }, post, "https://fallback.example/");
    await r.spend(600n);
    await r.alerts.drain();
    expect(urls).toEqual(["https://fallback.example/"]);
  });

  it("costs no state call for a threshold this replica already handled in the period", async () => {
    state = createMemoryState();
    const increment = state.increment.bind(state);
    let increments = 0;
    state.increment = (...args) => (increments++, increment(...args));
    const r = replica({ thresholdsPercent: [50], webhookUrl: "" });
    await r.spend(600n);
    await r.alerts.drain();
    expect(increments).toBe(1);
    await r.spend(10n);
    await r.spend(10n);
    await r.alerts.drain();
    expect(increments).toBe(1);
    expect(events(r.log)).toHaveLength(1);
  });

  it("books a settle that lands after its period ended in that period, and never fires its threshold twice there", async () => {
    // One second before the monthly period ends; the settles land just after it.
    let now = Date.parse("2026-11-30T23:59:59.000Z");
    const lateClock = { now: () => now };
    state = createMemoryState({ now: lateClock.now });
    const log = createLogCapture();
    const reservations = createBudgetReservations({ state, clock: lateClock });
    // Each call's replica is a new one, so nothing is skipped from memory: the shared marker decides.
    const alertsOf = () => createBudgetAlerts({ state, reservations, settingsOf: () => ({ thresholdsPercent: [50], webhookUrl: "" }), logger: log.logger, clock: lateClock }, {});
    const reserve = async (micros: bigint) => {
      const outcome = await reservations.reserve({ tenant: "org_1", budgets: [budget], amountMicros: micros });
      if (!outcome.ok) throw new Error("refused");
      return outcome.reservation;
    };
    const first = await reserve(600n);
    const second = await reserve(100n);
    await reservations.settle(first, 600n);
    const crossing = alertsOf();
    crossing.afterSettle(first); // no settle result: the alerts read the November counters
    await crossing.drain();
    now = Date.parse("2026-12-01T00:00:00.500Z");
    await reservations.settle(second, 100n);
    const late = alertsOf();
    late.afterSettle(second);
    await late.drain();
    expect(events(log).map((e) => [e.id, e.spentMicrosUsd])).toEqual([[`${budget.id}:2026-11:50`, "600"]]);
  });

  it("reads the spend of the call's own period when the settle reported none", async () => {
    let now = Date.parse("2026-11-30T23:59:59.000Z");
    const lateClock = { now: () => now };
    state = createMemoryState({ now: lateClock.now });
    const log = createLogCapture();
    const reservations = createBudgetReservations({ state, clock: lateClock });
    const alerts = createBudgetAlerts({ state, reservations, settingsOf: () => ({ thresholdsPercent: [50], webhookUrl: "" }), logger: log.logger, clock: lateClock }, {});
    const outcome = await reservations.reserve({ tenant: "org_1", budgets: [budget], amountMicros: 600n });
    if (!outcome.ok) throw new Error("refused");
    now = Date.parse("2026-12-01T00:00:00.500Z");
    await reservations.settle(outcome.reservation, 600n);
    alerts.afterSettle(outcome.reservation);
    await alerts.drain();
    expect(events(log).map((e) => [e.id, e.spentMicrosUsd])).toEqual([[`${budget.id}:2026-11:50`, "600"]]);
  });
});
