/**
 * An answer the output guardrails block was still given by the provider, and billed: its ledger
 * rows are under the request id. The refusal reports what was billed as a provider failure after
 * dispatch does — the attempts in the error's `ProviderAttempts` (Connect Chat, ChatStream, the
 * verbs), the attempts and cost in the access line (every surface) and in the observe stage's
 * request log row — and what it reports is what the ledger holds for the request id, a semantic
 * lookup's embedding included; a stream blocked after content says so in its terminal event.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TruncationReason } from "../../gen/ts/switchboard/v1/capability_service_pb.js";
import { GuardrailStage, GuardrailViolationSchema, ProviderAttemptsSchema } from "../../gen/ts/switchboard/v1/error_details_pb.js";
import { chatMessage, createAppKey, moneyClients, type MoneyClients } from "../support/money.js";
import { billedByRequest } from "../support/billed-by-request.js";
import { connectFailure } from "../support/code-of.js";
import { fakeTarget, startMoneyGateway, type MoneyGateway } from "../support/money-rig.js";
import { attachOutputDenyList } from "../support/output-deny-list.js";
import { createSemanticEmbeddingRoutes, EMBEDDING_PRICES } from "../support/semantic-embedding-route.js";

let rig: MoneyGateway;
let app: MoneyClients;
let secret: string;
const BLOCKED = "Project Apollo launches on Monday.";
const options = { route: "guarded", maxOutputTokens: 32 };

beforeAll(async () => {
  rig = await startMoneyGateway({ prices: EMBEDDING_PRICES, requestLog: { mode: "metadata" } });
  const { admin } = rig;
  await admin.routes.createRoute({ routeId: "guarded", route: { targets: [fakeTarget()], retry: { maxAttempts: 1 } } });
  await createSemanticEmbeddingRoutes(admin);
  const key = await createAppKey(admin, "acme");
  await attachOutputDenyList(admin, "acme", "no-apollo", ["project apollo"]);
  await rig.refresh();
  secret = key.secret;
  app = moneyClients(rig.gw.url, secret);
}, 30_000);
afterAll(async () => {
  await rig?.close();
});

const { billed, accessLine, requestLogRows } = billedByRequest(() => rig.gw);

/** What the error's `ProviderAttempts` lists: index and model of each attempt. */
const listed = (err: ConnectError) => (err.findDetails(ProviderAttemptsSchema)[0]?.attempts ?? []).map((a) => [a.index, a.model]);

const blockedByOutputRule = (err: ConnectError) => {
  expect(err.code).toBe(Code.PermissionDenied);
  expect(err.findDetails(GuardrailViolationSchema)[0]).toMatchObject({ rule: "no-apollo", stage: GuardrailStage.OUTPUT });
};

/**
 * The access line and the observe stage say what the ledger billed for the request id — every
 * attempt, and their cost — and so does the error's `ProviderAttempts`, when given (`models`:
 * the model of each attempt, in order).
 */
async function expectReportedAsBilled(requestId: string, err?: ConnectError, models: string[] = ["gpt-test"]): Promise<void> {
  const ledger = await billed(requestId);
  expect(ledger.cost).toBeGreaterThan(0n);
  expect(ledger.attempts).toBe(models.length);
  expect(await accessLine(requestId)).toMatchObject({ attempts: ledger.attempts, costMicrosUsd: Number(ledger.cost) });
  const logged = await requestLogRows(requestId);
  expect(logged.reduce((n, r) => n + r.attempts, 0)).toBe(ledger.attempts);
  expect(logged.reduce((n, r) => n + r.cost, 0n)).toBe(ledger.cost);
  if (err === undefined) return;
  expect(listed(err)).toEqual(models.map((m, i) => [i + 1, m]));
}

const withId = (requestId: string) => ({ headers: { "x-request-id": requestId } });

describe("an answer the output guardrails block reports what it was billed", () => {
  it("Chat", async () => {
    rig.fake.reset();
    rig.fake.script({ reply: { text: BLOCKED } });
    const err = await connectFailure(app.verbs.chat({ options, messages: chatMessage("what launches on Monday?") }, withId("req-blocked-chat")));
    blockedByOutputRule(err);
    await expectReportedAsBilled("req-blocked-chat", err);
  });

  it("ChatStream, blocked before any content: the RPC's error", async () => {
    rig.fake.reset();
    rig.fake.script({ reply: { text: BLOCKED } });
    const err = await connectFailure(
      (async () => {
        for await (const _ of app.verbs.chatStream({ options, messages: chatMessage("what launches on Tuesday?") }, withId("req-blocked-stream")));
      })(),
    );
    blockedByOutputRule(err);
    await expectReportedAsBilled("req-blocked-stream", err);
  });

  it("ChatStream, blocked after content: the truncated event's usage", async () => {
    rig.fake.reset();
    rig.fake.script({ reply: { text: `All is well this week. Next up: ${BLOCKED}` } });
    let usage: { costMicrosUsd: bigint; attempts: unknown[] } | undefined;
    let reason: TruncationReason | undefined;
    for await (const e of app.verbs.chatStream({ options, messages: chatMessage("what launches next?") }, withId("req-blocked-stream-late"))) {
      if (e.event.case === "truncated") ({ usage, reason } = e.event.value);
    }
    expect(reason).toBe(TruncationReason.GUARDRAIL);
    const ledger = await billed("req-blocked-stream-late");
    expect(usage).toMatchObject({ costMicrosUsd: ledger.cost });
    expect(usage?.attempts).toHaveLength(ledger.attempts);
    await expectReportedAsBilled("req-blocked-stream-late");
  });

  it("the OpenAI surface, unary and streamed", async () => {
    for (const [stream, requestId] of [
      [false, "req-blocked-openai"],
      [true, "req-blocked-openai-stream"],
    ] as const) {
      rig.fake.reset();
      rig.fake.script({ reply: { text: BLOCKED } });
      const res = await fetch(`${rig.gw.url}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${secret}`, "content-type": "application/json", "x-request-id": requestId },
        body: JSON.stringify({ model: "guarded", max_tokens: 32, stream, messages: [{ role: "user", content: `what launches on ${stream ? "Wednesday" : "Thursday"}?` }] }),
      });
      expect(res.status).toBe(403);
      await res.json();
      await expectReportedAsBilled(requestId);
    }
  });

  it("the verbs: Summarize, Classify, Extract, Answer", async () => {
    const calls = {
      summarize: () => app.verbs.summarize({ options, text: "The launch plan for the week." }, withId("req-blocked-summarize")),
      classify: () => app.verbs.classify({ options, text: "The launch plan.", labels: [{ name: "space" }, { name: "food" }] }, withId("req-blocked-classify")),
      extract: () => app.verbs.extract({ options, text: "The launch plan.", jsonSchema: { type: "object", properties: { name: { type: "string" } } } }, withId("req-blocked-extract")),
      answer: () => app.verbs.answer({ options, question: "What launches?", sources: [{ id: "s1", text: "The launch plan." }] }, withId("req-blocked-answer")),
    };
    for (const [verb, call] of Object.entries(calls)) {
      rig.fake.reset();
      rig.fake.script({ reply: { text: BLOCKED } });
      const err = await connectFailure(call());
      blockedByOutputRule(err);
      await expectReportedAsBilled(`req-blocked-${verb}`, err);
    }
  });

  it("after a billed semantic lookup: the embedding first, then the blocked answer, each once", async () => {
    rig.fake.reset();
    rig.fake.script({ reply: { dimensions: 8 } }, { reply: { text: BLOCKED } });
    const err = await connectFailure(app.verbs.chat({ options: { ...options, route: "sem" }, messages: chatMessage("what launches on Friday?") }, withId("req-blocked-semantic")));
    blockedByOutputRule(err);
    await expectReportedAsBilled("req-blocked-semantic", err, ["emb-test", "gpt-test"]);
  });
});
