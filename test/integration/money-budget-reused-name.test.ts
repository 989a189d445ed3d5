/**
 * A budget deleted and created again under its name on another key, end to end (BudgetService,
 * the limits catalog, the budget stage, Redis or in-process counters, the ledger): the new budget
 * caps the new key's spend from the ledger (P1, P7), not the counters its predecessor seeded from
 * the old key's. The counters are named by the budget's counter epoch (migration 0011), which a
 * reused name moves. Clock-free: a TOTAL budget has one period.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BudgetPeriod } from "../../gen/ts/switchboard/v1/error_details_pb.js";
import type { FakeProvider } from "../fakes/fake-types.js";
import { chatMessage, createAppKey, moneyClients, type MoneyClients } from "../support/money.js";
import { createPaidApp, startMoneyGateway, type MoneyGateway } from "../support/money-rig.js";

let rig: MoneyGateway;
let fake: FakeProvider;
let app: MoneyClients;
let appKey: string;
let other: MoneyClients;
let otherKey: string;

beforeAll(async () => {
  rig = await startMoneyGateway();
  fake = rig.fake;
  ({ appKey, app } = await createPaidApp(rig));
  const created = await createAppKey(rig.admin, "acme", "other");
  otherKey = created.name;
  other = moneyClients(rig.gw.url, created.secret);
});
afterAll(async () => {
  await rig?.close();
});

/** One paid call; its cost, or the refusal's code. */
const call = async (clients: MoneyClients, text: string): Promise<bigint | Code> => {
  fake.script({ reply: { text: "ok", usage: { input: 10, output: 10 } } });
  return clients.verbs.chat({ options: { route: "paid", maxOutputTokens: 10 }, messages: chatMessage(text) }).then(
    (res) => res.usage!.costMicrosUsd,
    (e: unknown) => ConnectError.from(e).code,
  );
};

describe("a budget created again under its name on another key", () => {
  it("starts from the new key's spend in the ledger, not the old budget's counters (P1, P7)", async () => {
    // The other key spends under no budget.
    let otherSpent = 0n;
    for (let i = 0; i < 6; i++) otherSpent += (await call(other, `other ${i}`)) as bigint;
    // A roomy budget on the app key; one call seeds its counters (from the app key's 0) and books it.
    await rig.admin.budgets.createBudget({ parent: "orgs/acme", budgetId: "team-cap", budget: { target: appKey, limitMicrosUsd: 1_000_000n, period: BudgetPeriod.TOTAL } });
    await rig.refresh();
    expect(typeof (await call(app, "app 0"))).toBe("bigint");
    await rig.gw.money.ledger.flush();

    // Same name, now on the other key, whose ledger spend is already its cap.
    await rig.admin.budgets.deleteBudget({ name: "orgs/acme/budgets/team-cap" });
    await rig.admin.budgets.createBudget({ parent: "orgs/acme", budgetId: "team-cap", budget: { target: otherKey, limitMicrosUsd: otherSpent, period: BudgetPeriod.TOTAL } });
    await rig.refresh();
    expect((await rig.admin.budgets.getBudgetStatus({ name: "orgs/acme/budgets/team-cap" })).spentMicrosUsd).toBe(otherSpent);

    expect(await call(other, "past the cap"), "a call past the new budget's cap").toBe(Code.ResourceExhausted);
  });
});
