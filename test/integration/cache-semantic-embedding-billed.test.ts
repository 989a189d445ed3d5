/**
 * A semantic route with an `embedding_route`, end to end: the lookup's embedding is billed like
 * any Embed call (its own ledger rows under the request's id, settled on the budget once), and
 * the call that made it reports it — the Connect Chat and ChatStream usage, the OpenAI surface's
 * cost header and the access line all show what the ledger holds for the request id, on a miss
 * and on a semantic hit; an exact hit still costs 0.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BudgetPeriod } from "../../gen/ts/switchboard/v1/error_details_pb.js";
import { CacheStatus } from "../../gen/ts/switchboard/v1/common_pb.js";
import { chatMessage, createAppKey, moneyClients, type MoneyClients } from "../support/money.js";
import { billedByRequest } from "../support/billed-by-request.js";
import { startMoneyGateway, type MoneyGateway } from "../support/money-rig.js";
import { createSemanticEmbeddingRoutes, EMBEDDING_PRICES } from "../support/semantic-embedding-route.js";

let rig: MoneyGateway;
let app: MoneyClients;
let secret: string;
const BUDGET = "orgs/acme/budgets/key-cap";
const all = () => ({ start: new Date(0), end: new Date(Date.now() + 60_000) });
// 1 µ$ per input token for `gpt-test` (10 per output), 3 µ$ per token for the embedding model; the
// fake counts one token per word, so embedding "what is two plus two" costs 15.
const EMBED_COST = 15n;

beforeAll(async () => {
  rig = await startMoneyGateway({ prices: EMBEDDING_PRICES });
  const { admin } = rig;
  await createSemanticEmbeddingRoutes(admin);
  const key = await createAppKey(admin, "acme");
  await admin.budgets.createBudget({ parent: "orgs/acme", budgetId: "key-cap", budget: { target: key.name, limitMicrosUsd: 1_000_000n, period: BudgetPeriod.MONTHLY } });
  await rig.refresh();
  secret = key.secret;
  app = moneyClients(rig.gw.url, secret);
}, 30_000);
afterAll(async () => {
  await rig?.close();
});

const { billed, accessLine } = billedByRequest(() => rig.gw);

describe("semantic cache with an embedding route: what the lookup's embedding cost is reported with the call", () => {
  it("reports on a miss and on semantic hits (Chat, ChatStream, the OpenAI surface) what the ledger billed, and settles the budget once", async () => {
    const options = { route: "sem", maxOutputTokens: 32 };
    const miss = await app.verbs.chat({ options, messages: chatMessage("What is two plus two") });
    expect(miss.usage!.cacheStatus).toBe(CacheStatus.MISS);
    expect(miss.usage!.attempts.map((a) => a.model)).toEqual(["emb-test", "gpt-test"]);
    expect(miss.usage!.costMicrosUsd).toBeGreaterThan(EMBED_COST);

    // Paraphrases (other case, other spacing: another exact key, the same embedded text): semantic hits.
    // The store follows the answer (it is not waited for): ask until its semantic entry is there.
    await expect.poll(async () => (await app.verbs.chat({ options, messages: chatMessage("what is TWO plus two") })).usage!.cacheStatus).toBe(CacheStatus.HIT_SEMANTIC);
    const hit = await app.verbs.chat({ options, messages: chatMessage("what  is two PLUS two") });
    expect(hit.usage).toMatchObject({ cacheStatus: CacheStatus.HIT_SEMANTIC, costMicrosUsd: EMBED_COST, fallbacks: 0 });
    expect(hit.usage!.attempts.map((a) => [a.index, a.model])).toEqual([[1, "emb-test"]]);

    let streamed: { requestId: string; costMicrosUsd: bigint; cacheStatus: CacheStatus } | undefined;
    for await (const e of app.verbs.chatStream({ options, messages: chatMessage("WHAT is two plus two") })) {
      if (e.event.case === "completed") streamed = e.event.value.usage!;
    }
    expect(streamed).toMatchObject({ cacheStatus: CacheStatus.HIT_SEMANTIC, costMicrosUsd: EMBED_COST });

    const openai = await fetch(`${rig.gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${secret}`, "content-type": "application/json", "x-request-id": "req-openai-semantic-hit" },
      body: JSON.stringify({ model: "sem", max_tokens: 32, messages: [{ role: "user", content: "What is two plus TWO" }] }),
    });
    expect(openai.status).toBe(200);
    await openai.json();
    expect(openai.headers.get("x-switchboard-cache")).toBe("hit_semantic");
    expect(openai.headers.get("x-switchboard-cost-micros-usd")).toBe(String(EMBED_COST));
    expect(openai.headers.get("x-switchboard-attempts")).toBe("1");

    // An exact repeat: no lookup embedding, cost 0.
    const exact = await app.verbs.chat({ options, messages: chatMessage("What is two plus two") });
    expect(exact.usage).toMatchObject({ cacheStatus: CacheStatus.HIT_EXACT, costMicrosUsd: 0n, attempts: [] });

    // What each response said is what the ledger holds for its request id, and what its access line says.
    await rig.gw.money.ledger.flush();
    for (const [requestId, usage] of [
      [miss.usage!.requestId, miss.usage!],
      [hit.usage!.requestId, hit.usage!],
      [streamed!.requestId, streamed!],
      [exact.usage!.requestId, exact.usage!],
    ] as const) {
      const ledger = await billed(requestId);
      expect({ requestId, cost: ledger.cost }).toEqual({ requestId, cost: usage.costMicrosUsd });
      expect((await accessLine(requestId)).costMicrosUsd).toBe(Number(usage.costMicrosUsd));
    }
    expect(await billed(miss.usage!.requestId)).toMatchObject({ attempts: 2 });
    expect(await billed(hit.usage!.requestId)).toMatchObject({ attempts: 1, rows: 2 }); // the embedding's row and the hit's
    expect(await billed("req-openai-semantic-hit")).toMatchObject({ cost: EMBED_COST });
    expect((await accessLine("req-openai-semantic-hit")).costMicrosUsd).toBe(Number(EMBED_COST));

    // The budget booked each call once: its spend is the ledger's, nothing is still held.
    const { costMicros } = await rig.gw.money.usage.totals(all());
    await expect.poll(async () => (await rig.admin.budgets.getBudgetStatus({ name: BUDGET })).spentMicrosUsd).toBe(costMicros);
    expect(await rig.admin.budgets.getBudgetStatus({ name: BUDGET })).toMatchObject({ reservedMicrosUsd: 0n });
  }, 30_000);
});
