/**
 * Rate limits too large for the sliding window's arithmetic ((limit + cost) × windowMs < 2^53):
 * CreateRateLimit and UpdateRateLimit refuse them with InvalidArgument naming the field, instead
 * of storing a limit under which every call would then fail closed with Unavailable; and a limit
 * stored before that rule existed still lets calls through.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { ViolationsSchema } from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FakeProvider } from "../fakes/fake-types.js";
import type { TestGateway } from "../support/gateway.js";
import { chatMessage, type MoneyClients } from "../support/money.js";
import { createPaidApp, startMoneyGateway, type MoneyGateway } from "../support/money-rig.js";

const MAX = 100_000_000_000n;
let rig: MoneyGateway;
let fake: FakeProvider;
let gw: TestGateway;
let admin: MoneyClients;
let app: MoneyClients;
let appKey: string;

/** The fields a refusal names, from its `buf.validate.Violations` detail, or its message. */
async function refusal(call: Promise<unknown>) {
  const err = await call.then(
    () => undefined,
    (e: unknown) => ConnectError.from(e),
  );
  expect(err, "the call should have been refused").toBeDefined();
  const fields = err!.findDetails(ViolationsSchema).flatMap((v) => v.violations.map((x) => x.field?.elements.map((e) => e.fieldName).join(".")));
  return { code: err!.code, fields, message: err!.rawMessage };
}

beforeAll(async () => {
  rig = await startMoneyGateway();
  ({ fake, gw, admin } = rig);
  ({ appKey, app } = await createPaidApp(rig));
}, 30_000);
afterAll(async () => {
  await rig?.close();
});

describe("rate limits beyond 10^11 per minute", () => {
  it("are refused at creation with InvalidArgument naming the field", async () => {
    const tokens = await refusal(admin.budgets.createRateLimit({ parent: "orgs/acme", rateLimitId: "tpm", rateLimit: { target: appKey, tokensPerMinute: 1_000_000_000_000n } }));
    expect(tokens).toMatchObject({ code: Code.InvalidArgument, fields: ["rate_limit.tokens_per_minute"] });
    const requests = await refusal(admin.budgets.createRateLimit({ parent: "orgs/acme", rateLimitId: "rpm", rateLimit: { target: appKey, requestsPerMinute: MAX + 1n } }));
    expect(requests).toMatchObject({ code: Code.InvalidArgument, fields: ["rate_limit.requests_per_minute"] });
    const gone = await refusal(admin.budgets.getRateLimit({ name: "orgs/acme/rate-limits/tpm" }));
    expect(gone.code).toBe(Code.NotFound);
  });

  it("are refused at update, while the maximum itself is accepted and calls under it pass", async () => {
    const created = await admin.budgets.createRateLimit({ parent: "orgs/acme", rateLimitId: "max", rateLimit: { target: appKey, requestsPerMinute: MAX, tokensPerMinute: MAX } });
    expect(created.rateLimit?.tokensPerMinute).toBe(MAX);
    const update = refusal(
      admin.budgets.updateRateLimit({ rateLimit: { name: created.rateLimit!.name, target: appKey, tokensPerMinute: MAX * 10n }, updateMask: { paths: ["tokens_per_minute"] } }),
    );
    expect(await update).toMatchObject({ code: Code.InvalidArgument, fields: ["rate_limit.tokens_per_minute"] });
    expect((await admin.budgets.getRateLimit({ name: created.rateLimit!.name })).rateLimit?.tokensPerMinute).toBe(MAX);
    await gw.money.catalog.refresh();
    const res = await app.verbs.chat({ options: { route: "paid", maxOutputTokens: 20 }, messages: chatMessage("under the maximum") });
    expect(res.usage?.outputTokens).toBeGreaterThan(0);
    await admin.budgets.deleteRateLimit({ name: created.rateLimit!.name });
  });

  it("stored before the rule existed, do not fail the calls under them", async () => {
    const created = await admin.budgets.createRateLimit({ parent: "orgs/acme", rateLimitId: "legacy", rateLimit: { target: appKey, requestsPerMinute: 10n } });
    // What an older gateway let through: written straight to the store, past the service's checks.
    const { rateLimits } = await gw.money.limits.loadAll();
    const row = rateLimits.find((r) => r.name === "legacy")!;
    await gw.money.limits.rateLimits.update(row.orgId, "legacy", { requestsPerMinute: 1e12, tokensPerMinute: 1e13 });
    await gw.money.catalog.refresh();
    const sent = fake.requests().length;
    for (let i = 0; i < 3; i++) {
      const res = await app.verbs.chat({ options: { route: "paid", maxOutputTokens: 20 }, messages: chatMessage(`legacy ${i}`) });
      expect(res.usage?.outputTokens).toBeGreaterThan(0);
    }
    expect(fake.requests().length).toBe(sent + 3);
    await admin.budgets.deleteRateLimit({ name: created.rateLimit!.name });
  });
});
