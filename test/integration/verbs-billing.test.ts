/**
 * The capability verbs end to end — every model call a verb makes (map-reduce chunks, repairs)
 * is in the ledger exactly once and the response's Usage equals its rows; a cancelled map-reduce
 * stops starting chunks and bills what it sent; a caller schema that cannot be validated is
 * INVALID_ARGUMENT, not INTERNAL; ChatStream's started event names the provider and the cache's
 * part, as StreamStarted promises.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import type { ScriptStep } from "../fakes/fake-types.js";
import { CacheStatus } from "../../gen/ts/switchboard/v1/common_pb.js";
import { chatMessage, moneyClients } from "../support/money.js";
import { eventually, useDispatchRig } from "./dispatch-rig.js";

const ROUTES = `
routes:
  narrow:
    targets: [{ provider: openai, model: gpt-narrow, credential: credentials/openai, contextWindowTokens: 2048 }]
    retry: { maxAttempts: 2, initialBackoff: 1ms, maxBackoff: 5ms }
  plain:
    targets: [{ provider: openai, model: gpt-plain, credential: credentials/openai }]
`;

const rig = useDispatchRig(ROUTES);

// About 6,000 tokens: several chunks under a 2,048-token window.
const TEXT = Array.from({ length: 240 }, (_, i) => `Paragraph ${i} says the gateway routes model calls, keeps budgets and caches answers.`).join("\n\n");

async function ledgerRows(requestId: string) {
  await rig.gw.money.ledger.flush();
  return (await rig.gw.money.usage.list({ start: new Date(0), end: new Date(Date.now() + 60_000), requestId, limit: 500 })).items;
}

describe("Summarize map-reduce billing", () => {
  it("bills every sub-call exactly once and reports the ledger's cost, retries included", async () => {
    rig.fake.reset();
    const steps: ScriptStep[] = [{ fault: { kind: "status", status: 503 } }, ...Array.from({ length: 60 }, (_, i) => ({ reply: { text: `Partial ${i}.`, usage: { input: 100 + i, output: 7 } } }))];
    rig.fake.script(...steps);
    const res = await rig.app.verbs.summarize({ options: { route: "narrow" }, text: TEXT });
    expect(res.chunks).toBeGreaterThan(2);
    const rows = await ledgerRows(res.usage!.requestId);
    expect(rows).toHaveLength(rig.fake.requests().length);
    expect(res.usage!.attempts).toHaveLength(rows.length);
    expect(res.usage!.modelCalls).toBe(res.chunks + 1);
    expect(rows.reduce((a, r) => a + r.costMicros, 0n)).toBe(res.usage!.costMicrosUsd);
    expect(rows.reduce((a, r) => a + BigInt(r.inputTokens), 0n)).toBe(res.usage!.inputTokens);
  });

  it("a cancel mid-map starts no further chunk and bills every request it sent", async () => {
    rig.fake.reset();
    rig.fake.script(...Array.from({ length: 60 }, () => ({ delayMs: 400, reply: { text: "Partial." } })));
    const requestId = `cancel-mid-map-${Date.now()}`;
    const abort = new AbortController();
    const call = rig.app.verbs.summarize({ options: { route: "narrow" }, text: TEXT }, { signal: abort.signal, headers: { "x-request-id": requestId } }).catch((e: unknown) => ConnectError.from(e));
    await eventually("chunk calls in flight", () => rig.fake.requests().length >= 2);
    abort.abort();
    const err = await call;
    expect(err).toBeInstanceOf(ConnectError);
    await new Promise((r) => setTimeout(r, 800));
    const sent = rig.fake.requests().length;
    expect(sent).toBeLessThanOrEqual(4);
    await eventually("every sent request billed", async () => (await ledgerRows(requestId)).length === sent, 5_000);
  });
});

describe("Extract with a schema whose validation never ends", () => {
  it("answers InvalidArgument before any model call, not Internal after a billed one", async () => {
    rig.fake.reset();
    rig.fake.script({ reply: { text: '{"a": 1}' } }, { reply: { text: '{"a": 1}' } });
    const err = await rig.app.verbs
      .extract({ options: { route: "plain" }, text: "a is 1", jsonSchema: { type: "object", allOf: [{ $ref: "#" }] } })
      .then(() => undefined, (e: unknown) => ConnectError.from(e));
    expect(err?.code === undefined ? "none" : Code[err.code]).toBe("InvalidArgument");
    expect(rig.fake.requests()).toHaveLength(0);
  });
});

describe("ChatStream's started event", () => {
  it("names the provider serving the stream and how the cache took part, as StreamStarted promises", async () => {
    const admin = moneyClients(rig.gw.url, rig.gw.adminKey);
    await admin.routes.createRoute({ routeId: "cached", route: { targets: [{ provider: "openai", model: "gpt-cached", credential: "credentials/openai" }], cache: { ttl: { seconds: 60n } }, retry: { maxAttempts: 1 } } });
    await rig.gw.models.resolver.refresh();
    rig.fake.reset();
    rig.fake.script({ reply: { text: "streamed answer" } });
    const startedOf = async () => {
      let started;
      for await (const e of rig.app.verbs.chatStream({ options: { route: "cached" }, messages: chatMessage("hello stream") })) {
        if (e.event.case === "started") started = e.event.value;
      }
      return started;
    };
    const miss = await startedOf();
    const hit = await startedOf();
    expect(rig.fake.requests()).toHaveLength(1);
    expect([miss?.provider, miss?.cacheStatus]).toEqual(["openai", CacheStatus.MISS]);
    expect([hit?.provider, hit?.cacheStatus]).toEqual(["openai", CacheStatus.HIT_EXACT]);
  });
});
