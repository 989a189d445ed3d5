/**
 * A key's allowed_models (key_service.proto: "Models the key may reach; empty: any model its
 * routes reach") restrict the route's targets for that key's calls: dispatch only considers the
 * targets whose model the key may reach, a route with none is refused (PermissionDenied) before any
 * provider call, and the org-shared response cache never serves such a key an answer another model
 * produced (exact, semantic, streamed). Adapted from the audit's repro.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { CacheStatus } from "../../gen/ts/switchboard/v1/common_pb.js";
import { Scope } from "../../gen/ts/switchboard/v1/options_pb.js";
import type { FakeProvider } from "../fakes/fake-types.js";
import { MINI_TARGET, startCacheRoutesGateway, type CacheRoutesGateway } from "../support/cache-routes-gateway.js";
import type { TestGateway } from "../support/gateway.js";
import { moneyClients } from "../support/money.js";

let rig: CacheRoutesGateway;
let gw: TestGateway;
let openai: FakeProvider;
const secrets: Record<string, string> = {};
const clients = (secret: string) => moneyClients(gw.url, secret);

beforeAll(async () => {
  rig = await startCacheRoutesGateway("allowedmodels");
  ({ gw, openai } = rig);
  secrets.any = rig.anySecret;
  const { admin } = rig;
  secrets.bigOnly = (
    await admin.keys.createKey({ parent: "orgs/alpha/teams/app", keyId: "bigonly", key: { scopes: [Scope.INVOKE], allowedModels: ["gpt-4o"] } })
  ).secret;
  // gpt-4o-mini first (the lower priority number): only a key's filter sends a call to gpt-4o.
  await admin.routes.createRoute({
    routeId: "mixed",
    route: { targets: [{ ...MINI_TARGET, priority: 0 }, { ...MINI_TARGET, model: "gpt-4o", priority: 1 }], cache: { ttl: { seconds: 60n } }, retry: { maxAttempts: 1 } },
  });
  await gw.models.resolver.refresh();
});
afterAll(async () => {
  await rig?.close();
});

const userText = (value: string) => [{ role: Role.USER, content: [{ part: { case: "text" as const, value } }] }];

describe("a key's allowed_models", () => {
  it("does not let a key reach a model outside its allowed_models (from the cache or live)", async () => {
    openai.reset();
    openai.script({ reply: { text: "mini's answer" } });
    // Stored by a key that may use any model.
    const stored = await clients(secrets.any!).verbs.chat({ options: { route: "cached" }, messages: userText("which model?") });
    expect(stored.usage?.model).toBe("gpt-4o-mini");
    // A key allowed only gpt-4o asks the same on a route whose only target is gpt-4o-mini.
    const outcome = await clients(secrets.bigOnly!)
      .verbs.chat({ options: { route: "cached" }, messages: userText("which model?") })
      .then((r) => `ok:${r.usage?.model}:${CacheStatus[r.usage?.cacheStatus ?? 0]}`, (err: unknown) => Code[ConnectError.from(err).code]);
    expect(outcome).toBe("PermissionDenied");
  });

  it("does not let a key reach a model outside its allowed_models on a live call either", async () => {
    openai.reset();
    openai.script({ reply: { text: "mini's live answer" } });
    const outcome = await clients(secrets.bigOnly!)
      .verbs.chat({ options: { route: "cached" }, messages: userText("a question nobody asked before") })
      .then((r) => `ok:${r.usage?.model}:${CacheStatus[r.usage?.cacheStatus ?? 0]}`, (err: unknown) => Code[ConnectError.from(err).code]);
    expect(outcome).toBe("PermissionDenied");
    expect(openai.requests()).toHaveLength(0);
  });

  it("does not serve a semantic hit or a streamed replay produced by a model the key may not reach", async () => {
    openai.reset();
    openai.script({ reply: { text: "mini's semantic answer" } });
    const question = "Describe a stainless steel water bottle that keeps drinks cold all day for hikers.";
    const stored = await clients(secrets.any!).verbs.chat({ options: { route: "semantic" }, messages: userText(question) });
    expect(stored.usage?.model).toBe("gpt-4o-mini");
    const outcome = await (async () => {
      try {
        let text = "";
        for await (const e of clients(secrets.bigOnly!).verbs.chatStream({ options: { route: "semantic" }, messages: userText(question) })) {
          if (e.event.case === "delta") text += e.event.value.text;
        }
        return `ok:${text}`;
      } catch (err) {
        return Code[ConnectError.from(err).code];
      }
    })();
    expect(outcome).toBe("PermissionDenied");
    expect(openai.requests()).toHaveLength(1);
  });

  it("dispatches only to the route's targets the key may reach, and never replays another model's cached answer", async () => {
    openai.reset();
    openai.script({ reply: { text: "mini's answer" } }, { reply: { text: "big's answer" } }, { reply: { text: "big's second answer" } });
    // A key that may use any model gets gpt-4o-mini (first by priority), and the answer is cached.
    const any = await clients(secrets.any!).verbs.chat({ options: { route: "mixed" }, messages: userText("same question") });
    expect(any.usage?.model).toBe("gpt-4o-mini");
    // The gpt-4o-only key asks the same: the cached mini answer is not served; gpt-4o answers live.
    const big = await clients(secrets.bigOnly!).verbs.chat({ options: { route: "mixed" }, messages: userText("same question") });
    expect(big.usage?.model).toBe("gpt-4o");
    expect(CacheStatus[big.usage?.cacheStatus ?? 0]).toBe("MISS");
    let streamed = "";
    for await (const e of clients(secrets.bigOnly!).verbs.chatStream({ options: { route: "mixed" }, messages: userText("a streamed question") })) {
      if (e.event.case === "delta") streamed += e.event.value.text;
    }
    expect(streamed).toBe("big's second answer");
    expect(openai.requests().map((r) => (r.body as { model: string }).model)).toEqual(["gpt-4o-mini", "gpt-4o", "gpt-4o"]);
  });

  it("the OpenAI surface refuses a route none of whose targets the key may reach, and /v1/models does not list it", async () => {
    openai.reset();
    const headers = { authorization: `Bearer ${secrets.bigOnly!}`, "content-type": "application/json" };
    const res = await fetch(`${gw.url}/v1/chat/completions`, { method: "POST", headers, body: JSON.stringify({ model: "cached", messages: [{ role: "user", content: "hi" }] }) });
    expect(res.status).toBe(403);
    expect(openai.requests()).toHaveLength(0);
    const models = (await (await fetch(`${gw.url}/v1/models`, { headers })).json()) as { data: Array<{ id: string }> };
    expect(models.data.map((m) => m.id).sort()).toEqual(["mixed"]);
    const anyModels = (await (await fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${secrets.any!}` } })).json()) as { data: Array<{ id: string }> };
    expect(anyModels.data.map((m) => m.id).sort()).toEqual(["cached", "mixed", "semantic"]);
  });
});
