/**
 * BudgetService and UsageService end to end: budgets on a key and a tag, their status from the
 * ledger, and reports (grouped, bucketed, listed, exported as CSV) that equal the ledger exactly.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BudgetPeriod, BudgetLevel } from "../../gen/ts/switchboard/v1/error_details_pb.js";
import { TimeBucket, UsageDimension } from "../../gen/ts/switchboard/v1/usage_service_pb.js";
import { Verb } from "../../gen/ts/switchboard/v1/common_pb.js";
import type { FakeProvider } from "../fakes/fake-types.js";
import type { TestGateway } from "../support/gateway.js";
import { chatMessage, createAppKey, moneyClients, parseCsv, type MoneyClients } from "../support/money.js";
import { createPaidApp, startMoneyGateway, type MoneyGateway } from "../support/money-rig.js";

let rig: MoneyGateway;
let fake: FakeProvider;
let gw: TestGateway;
let admin: MoneyClients;
let app: MoneyClients;
let appKey: string;
const responseCosts: bigint[] = [];

beforeAll(async () => {
  rig = await startMoneyGateway();
  ({ fake, gw, admin } = rig);
  ({ appKey, app } = await createPaidApp(rig));
  for (const [i, feature] of ["search", "search", "chat"].entries()) {
    fake.script({ reply: { text: `answer ${i}`, usage: { input: 10 + i, output: 5 + i } } });
    const res = await app.verbs.chat({ options: { route: "paid", maxOutputTokens: 50, tags: { feature } }, messages: chatMessage(`q${i}`) });
    responseCosts.push(res.usage!.costMicrosUsd);
  }
  await gw.money.ledger.flush();
});
afterAll(async () => {
  await rig?.close();
});

const window = { startTime: timestampFromDate(new Date(Date.now() - 3_600_000)), endTime: timestampFromDate(new Date(Date.now() + 3_600_000)) };
const range = () => window;
const total = responseCosts.reduce.bind(responseCosts);

describe("BudgetService", () => {
  it("creates, reads, lists, updates and deletes budgets and rate limits in the caller's org", async () => {
    const created = await admin.budgets.createBudget({
      parent: "orgs/acme",
      budgetId: "app-daily",
      budget: { target: appKey, limitMicrosUsd: 5_000_000n, period: BudgetPeriod.DAILY, timeZone: "Europe/Paris", alertThresholdsPercent: [80, 50, 80] },
      requestId: "req-budget-1",
    });
    expect(created.budget).toMatchObject({ name: "orgs/acme/budgets/app-daily", level: BudgetLevel.KEY, alertThresholdsPercent: [50, 80] });
    // A retried create with the same request id answers as the first did.
    const again = await admin.budgets.createBudget({
      parent: "orgs/acme",
      budgetId: "app-daily",
      budget: { target: appKey, limitMicrosUsd: 5_000_000n, period: BudgetPeriod.DAILY, timeZone: "Europe/Paris", alertThresholdsPercent: [80, 50, 80] },
      requestId: "req-budget-1",
    });
    expect(again.budget?.name).toBe("orgs/acme/budgets/app-daily");
    const updated = await admin.budgets.updateBudget({
      budget: { ...created.budget!, limitMicrosUsd: 7_000_000n },
      updateMask: { paths: ["limit_micros_usd"] },
    });
    expect(updated.budget?.limitMicrosUsd).toBe(7_000_000n);
    expect((await admin.budgets.listBudgets({ parent: "orgs/acme" })).budgets.map((b) => b.name)).toEqual(["orgs/acme/budgets/app-daily"]);
    const limit = await admin.budgets.createRateLimit({ parent: "orgs/acme", rateLimitId: "rpm", rateLimit: { target: "orgs/acme/teams/app", requestsPerMinute: 100n } });
    expect(limit.rateLimit).toMatchObject({ name: "orgs/acme/rate-limits/rpm", level: BudgetLevel.TEAM });
    await admin.budgets.deleteRateLimit({ name: "orgs/acme/rate-limits/rpm" });
    const gone = await admin.budgets.getRateLimit({ name: "orgs/acme/rate-limits/rpm" }).catch((e: unknown) => ConnectError.from(e));
    expect((gone as ConnectError).code).toBe(Code.NotFound);
  });

  it("refuses targets outside the org, unknown targets and unknown time zones, naming the field", async () => {
    const make = (target: string, timeZone = "UTC") =>
      admin.budgets
        .createBudget({ parent: "orgs/acme", budget: { target, limitMicrosUsd: 1n, period: BudgetPeriod.TOTAL, timeZone } })
        .then(() => "ok", (e: unknown) => `${Code[ConnectError.from(e).code]}: ${ConnectError.from(e).rawMessage}`);
    expect(await make("orgs/system")).toMatch(/^InvalidArgument: budget.target/);
    expect(await make("orgs/acme/teams/nope")).toMatch(/^NotFound: budget.target/);
    expect(await make("nonsense")).toMatch(/^InvalidArgument: budget.target/);
    expect(await make("tags/feature=search", "Mars/Olympus")).toMatch(/^InvalidArgument: budget.time_zone/);
    expect(await make("tags/feature=search")).toBe("ok");
  });

  it("reports a budget's spend from the ledger and nothing held once calls have settled", async () => {
    const status = await admin.budgets.getBudgetStatus({ name: "orgs/acme/budgets/app-daily" });
    expect(status.spentMicrosUsd).toBe(total((a, b) => a + b, 0n));
    expect(status.reservedMicrosUsd).toBe(0n);
    expect(status.remainingMicrosUsd).toBe(7_000_000n - status.spentMicrosUsd);
    expect(status.periodEndTime).toBeDefined();
    // An application key holds no budget scope.
    const denied = await app.budgets.getBudgetStatus({ name: "orgs/acme/budgets/app-daily" }).catch((e: unknown) => ConnectError.from(e));
    expect((denied as ConnectError).code).toBe(Code.PermissionDenied);
  });
});

describe("UsageService", () => {
  it("groups by key, tag and day with totals equal to the ledger and to the calls' Usage", async () => {
    const res = await admin.usage.queryUsage({
      parent: "orgs/acme",
      ...range(),
      groupBy: [UsageDimension.KEY, UsageDimension.TAG],
      groupByTag: "feature",
      bucket: TimeBucket.DAY,
    });
    const sum = total((a, b) => a + b, 0n);
    expect(res.totals?.costMicrosUsd).toBe(sum);
    expect(res.totals).toMatchObject({ requests: 3n, attempts: 3n, inputTokens: 33n, outputTokens: 18n });
    expect(res.rows.map((r) => r.group)).toEqual([
      { key: appKey, tag: "chat" },
      { key: appKey, tag: "search" },
    ]);
    expect(res.rows.reduce((a, r) => a + r.totals!.costMicrosUsd, 0n)).toBe(sum);
    expect(res.rows.every((r) => r.bucketStartTime !== undefined)).toBe(true);
  });

  it("lists ledger rows with resource names and pages through them", async () => {
    const first = await admin.usage.listUsageRecords({ parent: "orgs/acme", ...range(), pageSize: 2 });
    const second = await admin.usage.listUsageRecords({ parent: "orgs/acme", ...range(), pageSize: 2, pageToken: first.nextPageToken });
    const records = [...first.records, ...second.records];
    expect(second.nextPageToken).toBe("");
    expect(records).toHaveLength(3);
    expect(records[0]).toMatchObject({ org: "orgs/acme", team: "orgs/acme/teams/app", key: appKey, verb: Verb.CHAT, route: "paid", priceVersion: "test-prices-1" });
    expect(records.map((r) => r.costMicrosUsd)).toEqual(responseCosts);
  });

  it("exports the same aggregation as RFC 4180 CSV", async () => {
    let text = "";
    for await (const chunk of admin.usage.exportUsage({ query: { parent: "orgs/acme", ...range(), groupBy: [UsageDimension.TAG], groupByTag: "feature" } })) {
      text += new TextDecoder().decode(chunk.csvChunk);
    }
    const [header, ...rows] = parseCsv(text);
    expect(header).toEqual(["tag", "requests", "attempts", "input_tokens", "output_tokens", "cached_input_tokens", "reasoning_tokens", "cost_micros_usd", "cache_hits"]);
    expect(rows.map((r) => r[0])).toEqual(["chat", "search"]);
    expect(rows.reduce((a, r) => a + BigInt(r[7]!), 0n)).toBe(total((a, b) => a + b, 0n));
  });

  it("keeps reports within the caller's org; every org needs a platform admin", async () => {
    const other = await createAppKey(admin, "bravo");
    const bravoAdmin = await admin.keys.createKey({ parent: "orgs/bravo/teams/app", keyId: "reader", key: { scopes: [14] } });
    const reader = moneyClients(gw.url, bravoAdmin.secret);
    expect(other.name).toContain("bravo");
    const code = (p: Promise<unknown>) => p.then(() => "ok", (e: unknown) => Code[ConnectError.from(e).code]);
    expect(await code(reader.usage.queryUsage({ parent: "orgs/acme", ...range() }))).toBe("NotFound");
    expect(await code(reader.usage.queryUsage({ parent: "", ...range() }))).toBe("PermissionDenied");
    expect((await reader.usage.queryUsage({ parent: "orgs/bravo", ...range() })).totals?.costMicrosUsd).toBe(0n);
  });
});
