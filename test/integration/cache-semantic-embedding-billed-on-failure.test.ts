/**
 * A semantic route with an `embedding_route` whose chat call then fails: the lookup's embedding
 * was billed (its ledger rows under the request id), so the failure reports it as a success does —
 * its attempts first in the error's `ProviderAttempts` (Connect Chat, ChatStream), in the access
 * line's attempts and cost (every surface) — and what the failure reports is what the ledger holds
 * for the request id: a provider failing until dispatch gives up, and a budget refusal after the lookup.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BudgetPeriod, ProviderAttemptsSchema } from "../../gen/ts/switchboard/v1/error_details_pb.js";
import { chatMessage, createAppKey, moneyClients, type MoneyClients } from "../support/money.js";
import { billedByRequest } from "../support/billed-by-request.js";
import { connectFailure } from "../support/code-of.js";
import { startMoneyGateway, type MoneyGateway } from "../support/money-rig.js";
import { createSemanticEmbeddingRoutes, EMBEDDING_PRICES } from "../support/semantic-embedding-route.js";

let rig: MoneyGateway;
let app: MoneyClients;
let small: MoneyClients;
let secret: string;
const options = { route: "sem", maxOutputTokens: 32 };
/**
 * The embedding's answer, then the chat target's 500 on each of its attempts (two, unless the
 * retry throttle has had enough of this target's 500s: the counts are taken from the ledger).
 */
function embedThen500s(): void {
  rig.fake.reset();
  rig.fake.script({ reply: { dimensions: 8 } }, { fault: { kind: "status", status: 500 } }, { fault: { kind: "status", status: 500 } });
}

beforeAll(async () => {
  rig = await startMoneyGateway({ prices: EMBEDDING_PRICES });
  const { admin } = rig;
  await createSemanticEmbeddingRoutes(admin, 2);
  const key = await createAppKey(admin, "acme");
  // Room for an embedding (15 µ$), not for a chat call's worst case (32 output tokens at 10 µ$).
  const capped = await createAppKey(admin, "acme", "small");
  await admin.budgets.createBudget({ parent: "orgs/acme", budgetId: "small", budget: { target: capped.name, limitMicrosUsd: 200n, period: BudgetPeriod.MONTHLY } });
  await rig.refresh();
  secret = key.secret;
  app = moneyClients(rig.gw.url, secret);
  small = moneyClients(rig.gw.url, capped.secret);
}, 30_000);
afterAll(async () => {
  await rig?.close();
});

const { billed, accessLine } = billedByRequest(() => rig.gw);

/** The access line's request id of the last failed CapabilityService call (Connect errors carry none). */
function lastFailedRpc(procedure: string): string {
  const line = rig.gw.log.lines().findLast((l) => l.msg === "rpc" && l.procedure === procedure && l.code !== "ok");
  return String(line?.requestId);
}

/** What the error's `ProviderAttempts` lists: index and model of each attempt. */
const listed = (err: ConnectError) => (err.findDetails(ProviderAttemptsSchema)[0]?.attempts ?? []).map((a) => [a.index, a.model]);

/**
 * The access line says what the ledger billed for the request id — every attempt, and their
 * cost, the embedding's included — and so does the error's `ProviderAttempts`, when given: the
 * embedding's attempt first, then the chat target's, numbered in start order.
 */
async function expectReportedAsBilled(requestId: string, err?: ConnectError): Promise<void> {
  const ledger = await billed(requestId);
  expect(ledger.cost).toBeGreaterThan(0n);
  expect(await accessLine(requestId)).toMatchObject({ attempts: ledger.attempts, costMicrosUsd: Number(ledger.cost) });
  if (err === undefined) return;
  const models = ["emb-test", ...Array.from({ length: ledger.attempts - 1 }, () => "gpt-test")];
  expect(listed(err)).toEqual(models.map((m, i) => [i + 1, m]));
}

describe("semantic cache with an embedding route: a call that fails after its lookup reports the embedding it paid for", () => {
  it("Chat: the provider fails until dispatch gives up", async () => {
    embedThen500s();
    const err = await connectFailure(app.verbs.chat({ options, messages: chatMessage("what is one plus one") }));
    expect(err.code).toBe(Code.Unavailable);
    await expectReportedAsBilled(lastFailedRpc("switchboard.v1.CapabilityService/Chat"), err);
  });

  it("ChatStream: the provider fails before any content", async () => {
    embedThen500s();
    const err = await connectFailure(
      (async () => {
        for await (const _ of app.verbs.chatStream({ options, messages: chatMessage("what is two plus two") }));
      })(),
    );
    expect(err.code).toBe(Code.Unavailable);
    await expectReportedAsBilled(lastFailedRpc("switchboard.v1.CapabilityService/ChatStream"), err);
  });

  it("the OpenAI surface, unary and streamed: the provider fails", async () => {
    for (const [stream, requestId] of [
      [false, "req-semantic-openai-failed"],
      [true, "req-semantic-openai-stream-failed"],
    ] as const) {
      embedThen500s();
      const res = await fetch(`${rig.gw.url}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${secret}`, "content-type": "application/json", "x-request-id": requestId },
        body: JSON.stringify({ model: "sem", max_tokens: 32, stream, messages: [{ role: "user", content: `what is ${stream ? "three" : "four"} plus one` }] }),
      });
      expect(res.status).toBe(503);
      await res.json();
      await expectReportedAsBilled(requestId);
    }
  });

  it("Chat: the budget refuses the chat call after the lookup's embedding was billed", async () => {
    rig.fake.reset();
    rig.fake.script({ reply: { dimensions: 8 } });
    const err = await connectFailure(small.verbs.chat({ options, messages: chatMessage("what is six plus six") }));
    expect(err.code).toBe(Code.ResourceExhausted);
    await expectReportedAsBilled(lastFailedRpc("switchboard.v1.CapabilityService/Chat"), err);
    expect(listed(err)).toEqual([[1, "emb-test"]]);
  });
});
