/**
 * A verb that fails after model calls it paid for — a repair call that fails at the provider or is
 * blocked by the output guardrails, a contract still broken after the repair, a Summarize whose
 * combine call fails after its chunk calls — reports every call it made, as its `usage` would
 * have on success: every attempt, in call order, in the error's `ProviderAttempts`, and their
 * summed cost in the access line, each as the ledger holds it for the request id. The observe
 * stage reports each model call on its own (one request log row per call), which sum to the same.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AttemptOutcome } from "../../gen/ts/switchboard/v1/common_pb.js";
import { ProviderAttemptsSchema } from "../../gen/ts/switchboard/v1/error_details_pb.js";
import { TEST_PRICES } from "../../server/limits/money-harness.testing.js";
import type { ScriptStep } from "../fakes/fake-types.js";
import { createAppKey, moneyClients, type MoneyClients } from "../support/money.js";
import { billedByRequest } from "../support/billed-by-request.js";
import { connectFailure } from "../support/code-of.js";
import { fakeTarget, startMoneyGateway, type MoneyGateway } from "../support/money-rig.js";
import { attachOutputDenyList } from "../support/output-deny-list.js";

let rig: MoneyGateway;
let app: MoneyClients;
// One model per route, so a route's provider failures open no breaker another test uses.
const MODELS = ["gpt-v1", "gpt-v2", "gpt-v3", "gpt-v4"];
const PRICES = { ...TEST_PRICES, rows: [...TEST_PRICES.rows, ...MODELS.map((model) => ({ provider: "openai", model, effectiveFrom: "2020-01-01", input: 1_000_000, output: 10_000_000 }))] };
const fast = { initialBackoff: { seconds: 0n, nanos: 1_000_000 }, maxBackoff: { seconds: 0n, nanos: 1_000_000 } };

beforeAll(async () => {
  rig = await startMoneyGateway({ prices: PRICES, requestLog: { mode: "metadata" } });
  const { admin } = rig;
  await admin.routes.createRoute({ routeId: "once", route: { targets: [fakeTarget("gpt-v1")], retry: { maxAttempts: 1 } } });
  await admin.routes.createRoute({ routeId: "twice", route: { targets: [fakeTarget("gpt-v2")], retry: { maxAttempts: 2, ...fast } } });
  await admin.routes.createRoute({ routeId: "narrow", route: { targets: [{ ...fakeTarget("gpt-v3"), contextWindowTokens: 2048 }], retry: { maxAttempts: 1 } } });
  await admin.routes.createRoute({ routeId: "guarded", route: { targets: [fakeTarget("gpt-v4")], retry: { maxAttempts: 1 } } });
  const key = await createAppKey(admin, "acme");
  await attachOutputDenyList(admin, "acme", "no-apollo", ["project apollo"]);
  await rig.refresh();
  app = moneyClients(rig.gw.url, key.secret);
}, 30_000);
afterAll(async () => {
  await rig?.close();
});

const { billed, accessLine, requestLogRows } = billedByRequest(() => rig.gw);

/** What the error's `ProviderAttempts` lists: index, model and outcome of each attempt. */
const listed = (err: ConnectError) => (err.findDetails(ProviderAttemptsSchema)[0]?.attempts ?? []).map((a) => [a.index, a.model, AttemptOutcome[a.outcome]]);

/**
 * The error lists `attempts` ([model, outcome] each, in call order, numbered 1..), and the
 * access line and the observe stage report what the ledger billed for the request id.
 */
async function expectEveryCallReported(requestId: string, err: ConnectError, attempts: [string, string][], calls: number): Promise<void> {
  expect(listed(err)).toEqual(attempts.map(([model, outcome], i) => [i + 1, model, outcome]));
  const ledger = await billed(requestId);
  expect(ledger.cost).toBeGreaterThan(0n);
  expect(ledger.attempts).toBe(attempts.length);
  expect(await accessLine(requestId)).toMatchObject({ attempts: ledger.attempts, costMicrosUsd: Number(ledger.cost), model: attempts.at(-1)?.[0] });
  const logged = await requestLogRows(requestId, calls);
  expect(logged.reduce((n, r) => n + r.attempts, 0)).toBe(ledger.attempts);
  expect(logged.reduce((n, r) => n + r.cost, 0n)).toBe(ledger.cost);
}

const withId = (requestId: string) => ({ headers: { "x-request-id": requestId } });
const invoice = { type: "object", properties: { invoice: { type: "integer" } }, required: ["invoice"] };
const answered = (text: string): ScriptStep => ({ reply: { text } });
const serverError: ScriptStep = { fault: { kind: "status", status: 500 } };

describe("a verb that fails after paid model calls reports every call", () => {
  it("Extract whose answer and repair both break the schema: FAILED_PRECONDITION with both calls' attempts", async () => {
    rig.fake.reset();
    rig.fake.script(answered('{"invoice": "forty-two"}'), answered('{"invoice": "still forty-two"}'));
    const err = await connectFailure(app.verbs.extract({ options: { route: "once" }, text: "Invoice 42", jsonSchema: invoice }, withId("req-extract-invalid")));
    expect(err.code).toBe(Code.FailedPrecondition);
    await expectEveryCallReported("req-extract-invalid", err, [["gpt-v1", "SUCCESS"], ["gpt-v1", "SUCCESS"]], 2);
  });

  it("Extract whose repair call gets 500 until dispatch gives up: the first call's attempt, then the repair's", async () => {
    rig.fake.reset();
    rig.fake.script(answered('{"invoice": "forty-two"}'), serverError, serverError);
    const err = await connectFailure(app.verbs.extract({ options: { route: "twice" }, text: "Invoice 43", jsonSchema: invoice }, withId("req-extract-500")));
    expect(err.code).toBe(Code.Unavailable);
    await expectEveryCallReported("req-extract-500", err, [["gpt-v2", "SUCCESS"], ["gpt-v2", "UNAVAILABLE"], ["gpt-v2", "UNAVAILABLE"]], 2);
  });

  it("Answer unusable also after the repair: FAILED_PRECONDITION with both calls' attempts", async () => {
    rig.fake.reset();
    rig.fake.script(answered("no json here"), answered("still no json"));
    const err = await connectFailure(app.verbs.answer({ options: { route: "once" }, question: "What launches?", sources: [{ id: "s1", text: "The plan." }] }, withId("req-answer-invalid")));
    expect(err.code).toBe(Code.FailedPrecondition);
    await expectEveryCallReported("req-answer-invalid", err, [["gpt-v1", "SUCCESS"], ["gpt-v1", "SUCCESS"]], 2);
  });

  it("Classify whose repair answer the output guardrails block: PERMISSION_DENIED with both calls' attempts", async () => {
    rig.fake.reset();
    rig.fake.script(answered("I cannot tell."), answered("Project Apollo, clearly."));
    const err = await connectFailure(app.verbs.classify({ options: { route: "guarded" }, text: "The launch plan.", labels: [{ name: "space" }, { name: "food" }] }, withId("req-classify-blocked")));
    expect(err.code).toBe(Code.PermissionDenied);
    await expectEveryCallReported("req-classify-blocked", err, [["gpt-v4", "SUCCESS"], ["gpt-v4", "SUCCESS"]], 2);
  });

  it("Summarize of a long text whose combine call fails: every chunk call's attempt, then the combine's", async () => {
    // About 4,000 tokens: several chunks under the route's 2,048-token window.
    const text = Array.from({ length: 60 }, (_, i) => `Paragraph ${i} says the gateway routes model calls, keeps budgets and caches answers well.`).join("\n\n").repeat(2);
    const short = answered("A short partial summary.");
    rig.fake.reset();
    rig.fake.script(...Array.from({ length: 40 }, () => short));
    const { chunks } = await app.verbs.summarize({ options: { route: "narrow" }, text });
    expect(chunks).toBeGreaterThan(1);

    rig.fake.reset();
    rig.fake.script(...Array.from({ length: chunks }, () => short), serverError);
    const err = await connectFailure(app.verbs.summarize({ options: { route: "narrow" }, text }, withId("req-summarize-combine")));
    expect(err.code).toBe(Code.Unavailable);
    expect(rig.fake.requests()).toHaveLength(chunks + 1);
    const attempts: [string, string][] = [...Array.from({ length: chunks }, (): [string, string] => ["gpt-v3", "SUCCESS"]), ["gpt-v3", "UNAVAILABLE"]];
    await expectEveryCallReported("req-summarize-combine", err, attempts, chunks + 1);
  }, 30_000);
});
