/**
 * P22's analyzer-down fault through the whole gateway: the guardrails' analyzer is injected and
 * made to throw or hang, in front of a wire-faithful OpenAI fake. With a redacting policy the call
 * fails closed: the caller gets Unavailable naming the field, the fake provider receives nothing,
 * a streamed answer is stopped before unchecked text is sent and is not cached, and neither the
 * request log rows, the usage ledger nor the gateway's log hold the planted PII. A policy with
 * `analyzer_fail_open` lets the call through instead.
 */
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { GuardrailStage } from "../../gen/ts/switchboard/v1/error_details_pb.js";
import { GuardrailAction, GuardrailRuleSchema } from "../../gen/ts/switchboard/v1/guardrail_service_pb.js";
import { Scope } from "../../gen/ts/switchboard/v1/options_pb.js";
import type { GuardrailAnalyzer } from "../../server/guardrails/analyzer.js";
import { findViolations } from "../../server/guardrails/evaluate.js";
import type { FakeProvider } from "../fakes/fake-types.js";
import { startOpenAIFake } from "../fakes/openai-fake.js";
import { clientsFor } from "../support/clients.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { moneyClients, type MoneyClients } from "../support/money.js";

/** How the injected analyzer behaves right now. */
let mode: "ok" | "throw" | "hang" | "throw-on-output" = "ok";
const analyzer: GuardrailAnalyzer = {
  findViolations(text, policies, stage) {
    if (mode === "throw" || (mode === "throw-on-output" && stage === "output")) throw new Error("analyzer crashed (injected)");
    if (mode === "hang") return new Promise(() => undefined);
    return findViolations(text, policies, stage);
  },
};

const CARD = "4111 1111 1111 1111";
const EMAIL = "planted.person@example.com";
const PLANTED = `Charge my card ${CARD} and mail the receipt to ${EMAIL}.`;

let gw: TestGateway;
let openai: FakeProvider;
let verbs: MoneyClients["verbs"];
let guardrails: MoneyClients["guardrails"];

beforeAll(async () => {
  openai = await startOpenAIFake();
  gw = await startTestGateway({
    baseUrls: { openai: `${openai.url}/v1` },
    credentials: new Map([["credentials/openai", "sk-test"]]),
    guardrailAnalyzer: analyzer,
    requestLog: { mode: "redacted" },
  });
  const platform = clientsFor(gw.url, gw.adminKey);
  await platform.tenants.createOrg({ orgId: "acme", org: {} });
  await platform.tenants.createTeam({ parent: "orgs/acme", teamId: "app", team: {} });
  const key = await platform.keys.createKey({ parent: "orgs/acme/teams/app", keyId: "app", key: { scopes: [Scope.INVOKE, Scope.GUARDRAILS_READ, Scope.GUARDRAILS_WRITE] } });
  ({ verbs, guardrails } = moneyClients(gw.url, key.secret));
  await platform.routes.createRoute({ routeId: "ext", route: { targets: [{ provider: "openai", model: "gpt-4o-mini", credential: "credentials/openai" }], retry: { maxAttempts: 1 } } });
  await gw.models.resolver.refresh();
  await guardrails.createGuardrailPolicy({
    parent: "orgs/acme",
    policyId: "mask",
    policy: {
      enabled: true,
      attachments: ["orgs/acme"],
      rules: [create(GuardrailRuleSchema, { id: "mask-pii", stage: GuardrailStage.BOTH, action: GuardrailAction.REDACT, check: { case: "pii", value: {} } })],
    },
  });
});
afterAll(async () => {
  await gw?.close();
  await openai?.close();
});

const user = (text: string) => [{ role: Role.USER, content: [{ part: { case: "text" as const, value: text } }] }];
const refusal = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => ConnectError.from(e));

/** Every stored row that could hold the call's content: request log and usage ledger. */
async function storedRows(): Promise<{ rows: number; text: string }> {
  await gw.requestLog!.flush();
  const logs = await gw.database.db.selectFrom("request_log").selectAll().execute();
  const usage = await gw.database.db.selectFrom("usage_records").selectAll().execute();
  return { rows: logs.length + usage.length, text: JSON.stringify([logs, usage], (_, v: unknown) => (typeof v === "bigint" ? String(v) : v)) };
}

function expectNoPlantedPii(text: string) {
  expect(text).not.toContain(CARD);
  expect(text).not.toContain(CARD.replace(/ /g, ""));
  expect(text).not.toContain(EMAIL);
}

describe("the guardrail analyzer fails (P22: fail closed through the gateway)", () => {
  it("a throwing analyzer: Unavailable naming the field, nothing reaches the provider, nothing stored", async () => {
    mode = "throw";
    openai.reset();
    const err = await refusal(verbs.chat({ options: { route: "ext" }, messages: user(PLANTED) }));
    expect(err?.code).toBe(Code.Unavailable);
    expect(err?.rawMessage).toContain("guardrail analysis of messages[0].content[0].text failed");
    expect(err?.rawMessage).toContain("orgs/acme/guardrail-policies/mask");
    expectNoPlantedPii(`${err?.message} ${JSON.stringify(err?.details)}`);
    expect(openai.requests()).toHaveLength(0);
    const stored = await storedRows();
    expect(stored.rows).toBeGreaterThan(0); // the refused call was logged, without its content
    expectNoPlantedPii(stored.text);
    expectNoPlantedPii(gw.log.text());
    expect(gw.log.text()).toContain("guardrail analyzer failed; call refused (fail closed)");
  });

  it("a hanging analyzer is given up on after its timeout (2 s) with the same refusal", async () => {
    mode = "hang";
    openai.reset();
    const started = performance.now();
    const err = await refusal(verbs.chat({ options: { route: "ext" }, messages: user(PLANTED) }));
    expect(err?.code).toBe(Code.Unavailable);
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(openai.requests()).toHaveLength(0);
  });

  it("an analyzer that fails on the streamed answer: no unchecked text is sent, and the answer is not cached", async () => {
    mode = "throw-on-output";
    openai.reset();
    openai.script({ reply: { text: `Sure. The card on file is ${CARD}; receipts go to ${EMAIL}.` } }, { reply: { text: "second answer" } });
    let deltas = "";
    let terminal: { code: Code | string; message: string } | undefined;
    try {
      for await (const e of verbs.chatStream({ options: { route: "ext" }, messages: user("what card is on file?") })) {
        if (e.event.case === "delta") deltas += e.event.value.text;
        if (e.event.case === "upstreamError") terminal = { code: e.event.value.code, message: e.event.value.message };
        if (e.event.case === "completed") terminal = { code: "completed", message: "" };
      }
    } catch (err) {
      const c = ConnectError.from(err);
      terminal = { code: c.code, message: c.rawMessage };
    }
    expect([Code.Unavailable, "unavailable"]).toContain(terminal?.code);
    expect(terminal?.message).toContain("output.text");
    expectNoPlantedPii(deltas);
    expectNoPlantedPii((await storedRows()).text);

    mode = "ok";
    const again = await verbs.chat({ options: { route: "ext" }, messages: user("what card is on file?") });
    expect(openai.requests()).toHaveLength(2); // the refused answer was not stored: the fake is asked again
    expect(again.message?.content.map((p) => (p.part.case === "text" ? p.part.value : "")).join("")).toBe("second answer");
  });

  it("with analyzer_fail_open the call passes unchecked (and the failure is logged)", async () => {
    const policy = (await guardrails.getGuardrailPolicy({ name: "orgs/acme/guardrail-policies/mask" })).policy!;
    await guardrails.updateGuardrailPolicy({ policy: { ...policy, analyzerFailOpen: true }, updateMask: { paths: ["analyzer_fail_open"] } });
    expect((await guardrails.getGuardrailPolicy({ name: policy.name })).policy?.analyzerFailOpen).toBe(true);
    mode = "throw";
    openai.reset();
    openai.script({ reply: { text: "passed" } });
    await verbs.chat({ options: { route: "ext" }, messages: user(PLANTED) });
    expect(JSON.stringify(openai.requests()[0]!.body)).toContain(CARD);
    expect(gw.log.text()).toContain("text passed unchecked (policies fail open)");
    mode = "ok";
  });
});
