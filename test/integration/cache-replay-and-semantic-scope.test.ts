/**
 * The response cache: a replayed stream spells the same text as the live answer ("a streaming
 * caller cannot tell a replay from a provider's stream except by cache_status"), and a semantic
 * hit never crosses a different system prompt (instructions match exactly).
 */
import { randomBytes } from "node:crypto";
import { createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CapabilityService } from "../../gen/ts/switchboard/v1/capability_service_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { CacheStatus } from "../../gen/ts/switchboard/v1/common_pb.js";
import { Scope } from "../../gen/ts/switchboard/v1/options_pb.js";
import { RouteService } from "../../gen/ts/switchboard/v1/route_service_pb.js";
import { generateSecret } from "../../server/auth/key-format.js";
import { createRedisState } from "../../server/store/state/redis-state.js";
import type { StateBackend } from "../../server/store/state/state-backend.js";
import { startOpenAIFake } from "../fakes/openai-fake.js";
import type { FakeProvider } from "../fakes/fake-types.js";
import { clientsFor } from "../support/clients.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { createTestDatabase, type TestDatabase } from "../support/postgres.js";
import { requireEnv } from "../support/require-env.js";

const redisUrl = requireEnv("REDIS_URL");
const keyPrefix = `sbtest:cache-replay:${randomBytes(6).toString("hex")}:`;

let database: TestDatabase;
let openai: FakeProvider;
let state: StateBackend;
let gw: TestGateway;
const secrets: Record<string, string> = {};

interface Clients {
  verbs: Client<typeof CapabilityService>;
  routes: Client<typeof RouteService>;
}
function clients(secret: string): Clients {
  const withKey: Interceptor = (next) => (req) => {
    req.header.set("authorization", `Bearer ${secret}`);
    return next(req);
  };
  const transport = createGrpcTransport({ baseUrl: gw.url, interceptors: [withKey] });
  return { verbs: createClient(CapabilityService, transport), routes: createClient(RouteService, transport) };
}

beforeAll(async () => {
  [database, openai] = await Promise.all([createTestDatabase(), startOpenAIFake()]);
  const adminKey = generateSecret();
  state = createRedisState({ url: redisUrl, keyPrefix, commandTimeoutMs: 200 });
  gw = await startTestGateway({
    databaseUrl: database.url,
    adminKey,
    baseUrls: { openai: `${openai.url}/v1` },
    credentials: new Map([["credentials/openai", "sk-test"]]),
    cost: () => 1_500n,
    state,
  });
  const platform = clientsFor(gw.url, adminKey);
  await platform.tenants.createOrg({ orgId: "alpha", org: {} });
  await platform.tenants.createTeam({ parent: "orgs/alpha", teamId: "app", team: {} });
  secrets.any = (await platform.keys.createKey({ parent: "orgs/alpha/teams/app", keyId: "any", key: { scopes: [Scope.INVOKE] } })).secret;
  const target = { provider: "openai", model: "gpt-4o-mini", credential: "credentials/openai" };
  const admin = clients(adminKey);
  await admin.routes.createRoute({ routeId: "cached", route: { targets: [target], cache: { ttl: { seconds: 60n } }, retry: { maxAttempts: 1 } } });
  await admin.routes.createRoute({ routeId: "semantic", route: { targets: [target], cache: { ttl: { seconds: 60n }, semantic: true }, retry: { maxAttempts: 1 } } });
  await gw.models.resolver.refresh();
});
afterAll(async () => {
  await gw?.close();
  await state?.deleteByPrefix("").then(() => state.close());
  await openai?.close();
  await database?.drop();
});

const userText = (value: string) => [{ role: Role.USER, content: [{ part: { case: "text" as const, value } }] }];

describe("response cache: replay and semantic isolation", () => {
  it("replays a cached answer as a stream that spells the stored text (astral characters not split)", async () => {
    openai.reset();
    // No space within the first 48 UTF-16 units: the replay cuts at unit 48, inside the emoji.
    const answer = `${"a".repeat(47)}😀${"b".repeat(10)}`;
    openai.script({ reply: { text: answer } });
    const alpha = clients(secrets.any!);
    const miss = await alpha.verbs.chat({ options: { route: "cached" }, messages: userText("emoji please") });
    expect(miss.usage?.cacheStatus).toBe(CacheStatus.MISS);
    expect(miss.message?.content.map((p) => (p.part.case === "text" ? p.part.value : "")).join("")).toBe(answer);
    let text = "";
    let status: CacheStatus | undefined;
    for await (const e of alpha.verbs.chatStream({ options: { route: "cached" }, messages: userText("emoji please") })) {
      if (e.event.case === "delta") text += e.event.value.text;
      if (e.event.case === "completed") status = e.event.value.usage?.cacheStatus;
    }
    expect(status).toBe(CacheStatus.HIT_EXACT);
    expect(text).toBe(answer);
  });

  it("semantic Chat: a different system prompt never shares an answer (instructions must match exactly)", async () => {
    openai.reset();
    openai.script({ reply: { text: "Une gourde en acier inoxydable..." } }, { reply: { text: "Eine Trinkflasche aus Edelstahl..." } });
    const question =
      "Please write a short product description for our new stainless steel water bottle that keeps drinks cold all day, fits in a car cup holder, has a leak proof lid and a carry loop, and comes in five colours for hikers and commuters.";
    const conversation = (system: string) => [
      { role: Role.SYSTEM, content: [{ part: { case: "text" as const, value: system } }] },
      { role: Role.USER, content: [{ part: { case: "text" as const, value: question } }] },
    ];
    const alpha = clients(secrets.any!);
    const french = await alpha.verbs.chat({ options: { route: "semantic" }, messages: conversation("Reply only in French.") });
    expect(french.usage?.cacheStatus).toBe(CacheStatus.MISS);
    await new Promise((r) => setTimeout(r, 50));
    const german = await alpha.verbs.chat({ options: { route: "semantic" }, messages: conversation("Reply only in German.") });
    expect(CacheStatus[german.usage?.cacheStatus ?? 0]).toBe("MISS");
    expect(german.message?.content.map((p) => (p.part.case === "text" ? p.part.value : "")).join("")).toBe("Eine Trinkflasche aus Edelstahl...");
  });
});
