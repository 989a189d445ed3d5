/**
 * The response cache end to end (P17): two gateways sharing one Postgres and one Redis act as
 * replicas in front of a wire-faithful OpenAI fake. A hit on either replica serves what the other
 * stored, for the same tenant only, at cost 0; errors and cut streams are never stored; a purge
 * on one replica empties the cache for both; a Redis outage turns the cache into a bypass without
 * failing or stalling requests.
 */
import { randomBytes } from "node:crypto";
import { createClient, type Client } from "@connectrpc/connect";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { CacheService } from "../../gen/ts/switchboard/v1/cache_service_pb.js";
import { CapabilityService } from "../../gen/ts/switchboard/v1/capability_service_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { CacheMode, CacheStatus } from "../../gen/ts/switchboard/v1/common_pb.js";
import { Scope } from "../../gen/ts/switchboard/v1/options_pb.js";
import { RouteService } from "../../gen/ts/switchboard/v1/route_service_pb.js";
import { generateSecret } from "../../server/auth/key-format.js";
import { createRedisState } from "../../server/store/state/redis-state.js";
import type { StateBackend } from "../../server/store/state/state-backend.js";
import { startOpenAIFake } from "../fakes/openai-fake.js";
import type { FakeProvider } from "../fakes/fake-types.js";
import { clientsFor, keyedTransport } from "../support/clients.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { createTestDatabase, type TestDatabase } from "../support/postgres.js";
import { requireEnv } from "../support/require-env.js";

const redisUrl = requireEnv("REDIS_URL");
const keyPrefix = `sbtest:cache:${randomBytes(6).toString("hex")}:`;

let database: TestDatabase;
let openai: FakeProvider;
let states: StateBackend[] = [];
let a: TestGateway;
let b: TestGateway;
const secrets: Record<string, string> = {};

interface Clients {
  verbs: Client<typeof CapabilityService>;
  cache: Client<typeof CacheService>;
  routes: Client<typeof RouteService>;
}

function clients(gw: TestGateway, secret: string): Clients {
  const transport = keyedTransport(gw.url, secret);
  return { verbs: createClient(CapabilityService, transport), cache: createClient(CacheService, transport), routes: createClient(RouteService, transport) };
}

const redisState = () => {
  const state = createRedisState({ url: redisUrl, keyPrefix, commandTimeoutMs: 200 });
  states.push(state);
  return state;
};

beforeAll(async () => {
  [database, openai] = await Promise.all([createTestDatabase(), startOpenAIFake()]);
  const adminKey = generateSecret();
  const shared = {
    databaseUrl: database.url,
    adminKey,
    baseUrls: { openai: `${openai.url}/v1` },
    credentials: new Map([["credentials/openai", "sk-test"]]),
    cost: () => 1_500n,
  };
  a = await startTestGateway({ ...shared, state: redisState() });
  b = await startTestGateway({ ...shared, state: redisState() });
  const platform = clientsFor(a.url, adminKey);
  for (const org of ["alpha", "bravo"]) {
    await platform.tenants.createOrg({ orgId: org, org: {} });
    await platform.tenants.createTeam({ parent: `orgs/${org}`, teamId: "app", team: {} });
    const created = await platform.keys.createKey({
      parent: `orgs/${org}/teams/app`,
      keyId: "app",
      key: { scopes: [Scope.INVOKE, Scope.CACHE_READ, Scope.CACHE_WRITE] },
    });
    secrets[org] = created.secret;
  }
  const target = { provider: "openai", model: "gpt-4o-mini", credential: "credentials/openai" };
  const admin = clients(a, adminKey);
  await admin.routes.createRoute({ routeId: "cached", route: { targets: [target], cache: { ttl: { seconds: 60n } }, retry: { maxAttempts: 1 } } });
  await admin.routes.createRoute({ routeId: "uncached", route: { targets: [target] } });
  await admin.routes.createRoute({ routeId: "semantic", route: { targets: [target], cache: { ttl: { seconds: 60n }, semantic: true } } });
  await Promise.all([a.models.resolver.refresh(), b.models.resolver.refresh()]);
});
afterAll(async () => {
  await a?.close();
  await b?.close();
  await Promise.all(states.map((s) => s.deleteByPrefix("").then(() => s.close())));
  await openai?.close();
  await database?.drop();
});

const ask = (c: Clients, text: string, options: Record<string, unknown> = {}) =>
  c.verbs.chat({ options: { route: "cached", ...options }, messages: [{ role: Role.USER, content: [{ part: { case: "text", value: text } }] }] });
const textOf = (res: Awaited<ReturnType<typeof ask>>) => res.message?.content.map((p) => (p.part.case === "text" ? p.part.value : "")).join("");

describe("response cache across two replicas", () => {
  it("serves a repeat on the other replica at cost 0, and never across tenants", async () => {
    openai.reset();
    openai.script({ reply: { text: "alpha's answer" } }, { reply: { text: "bravo's answer" } });
    const first = await ask(clients(a, secrets.alpha!), "What is our refund policy?");
    expect(first.usage).toMatchObject({ cacheStatus: CacheStatus.MISS, costMicrosUsd: 1_500n });
    const again = await ask(clients(b, secrets.alpha!), "What is our refund policy?");
    expect(textOf(again)).toBe("alpha's answer");
    expect(again.usage).toMatchObject({ cacheStatus: CacheStatus.HIT_EXACT, costMicrosUsd: 0n });
    const other = await ask(clients(b, secrets.bravo!), "What is our refund policy?");
    expect(textOf(other)).toBe("bravo's answer");
    expect(other.usage?.cacheStatus).toBe(CacheStatus.MISS);
    expect(openai.requests()).toHaveLength(2);
  });

  it("replays a cached answer as a stream", async () => {
    openai.reset();
    openai.script({ reply: { text: "a streamed answer that is long enough to come back in several pieces of text" } });
    const alpha = clients(a, secrets.alpha!);
    const messages = [{ role: Role.USER, content: [{ part: { case: "text" as const, value: "stream me" } }] }];
    const collect = async (c: Clients) => {
      let text = "";
      let status: CacheStatus | undefined;
      let deltas = 0;
      for await (const e of c.verbs.chatStream({ options: { route: "cached" }, messages })) {
        if (e.event.case === "delta") (text += e.event.value.text), deltas++;
        if (e.event.case === "completed") status = e.event.value.usage?.cacheStatus;
      }
      return { text, status, deltas };
    };
    const miss = await collect(alpha);
    const hit = await collect(clients(b, secrets.alpha!));
    expect(miss.status).toBe(CacheStatus.MISS);
    expect(hit).toMatchObject({ text: miss.text, status: CacheStatus.HIT_EXACT });
    expect(hit.deltas).toBeGreaterThan(1);
    expect(openai.requests()).toHaveLength(1);
  });

  it("does not store a 429: the next identical call reaches the provider and gets the 200", async () => {
    openai.reset();
    openai.script({ fault: { kind: "status", status: 429 } }, { reply: { text: "fine now" } });
    const alpha = clients(a, secrets.alpha!);
    await expect(ask(alpha, "flaky question")).rejects.toThrow();
    expect(textOf(await ask(alpha, "flaky question"))).toBe("fine now");
    expect((await ask(clients(b, secrets.alpha!), "flaky question")).usage?.cacheStatus).toBe(CacheStatus.HIT_EXACT);
    expect(openai.requests()).toHaveLength(2);
  });

  it("does not store a stream that was cut mid-way", async () => {
    openai.reset();
    openai.script({ fault: { kind: "cut" }, reply: { text: "this answer will be cut in the middle by the fake" } }, { reply: { text: "whole" } });
    const alpha = clients(a, secrets.alpha!);
    const messages = [{ role: Role.USER, content: [{ part: { case: "text" as const, value: "cut me" } }] }];
    const terminal: string[] = [];
    for await (const e of alpha.verbs.chatStream({ options: { route: "cached" }, messages })) terminal.push(e.event.case ?? "");
    expect(terminal.at(-1)).not.toBe("completed");
    expect(textOf(await ask(alpha, "cut me"))).toBe("whole");
    expect(openai.requests()).toHaveLength(2);
  });

  it("honours the request's cache mode and does not cache routes without a TTL", async () => {
    openai.reset();
    const alpha = clients(a, secrets.alpha!);
    const bypass = await ask(alpha, "What is our refund policy?", { cache: { mode: CacheMode.BYPASS } });
    expect(bypass.usage?.cacheStatus).toBe(CacheStatus.BYPASS);
    expect((await ask(alpha, "plain", { route: "uncached" })).usage?.cacheStatus).toBe(CacheStatus.BYPASS);
    expect((await ask(alpha, "plain", { route: "uncached" })).usage?.cacheStatus).toBe(CacheStatus.BYPASS);
    expect(openai.requests()).toHaveLength(3);
  });

  it("reports statistics from both replicas, and a purge on one replica empties the cache for both", async () => {
    const alphaA = clients(a, secrets.alpha!);
    const alphaB = clients(b, secrets.alpha!);
    // The hits were on replica B: its buffered statistics reach Redis within its 1 s flush interval.
    const stats = await vi.waitFor(
      async () => {
        const read = await alphaA.cache.getCacheStats({ parent: "orgs/alpha" });
        expect(read.exactHits).toBeGreaterThanOrEqual(3n);
        return read;
      },
      { timeout: 3000, interval: 100 },
    );
    expect(stats.misses).toBeGreaterThanOrEqual(3n);
    expect(stats.savedMicrosUsd).toBeGreaterThanOrEqual(3n * 1_500n);
    expect(stats.entries).toBeGreaterThan(0n);
    expect(stats.hitRatio).toBeGreaterThan(0);
    expect(await clients(a, secrets.bravo!).cache.getCacheStats({ parent: "orgs/alpha" }).catch((e: Error) => e.message)).toContain("not found");

    openai.reset();
    openai.script({ reply: { text: "after purge" } });
    const purged = await alphaB.cache.purgeCache({ parent: "orgs/alpha", route: "cached" });
    expect(purged.purged).toBeGreaterThan(0n);
    const res = await ask(alphaA, "What is our refund policy?");
    expect(res.usage?.cacheStatus).toBe(CacheStatus.MISS);
    expect(textOf(res)).toBe("after purge");
    // Bravo's entries were not touched.
    expect((await ask(clients(a, secrets.bravo!), "What is our refund policy?")).usage?.cacheStatus).toBe(CacheStatus.HIT_EXACT);
  });

  it("serves a paraphrase from the other replica's entry on a semantic route, and only above the threshold", async () => {
    openai.reset();
    openai.script({ reply: { text: "Paris." } }, { reply: { text: "Berlin." } });
    const first = await ask(clients(a, secrets.alpha!), "What is the capital of France?", { route: "semantic" });
    expect(first.usage?.cacheStatus).toBe(CacheStatus.MISS);
    // The store follows the answer (it is not waited for): let its semantic entry land first.
    const redis = new Redis(redisUrl);
    try {
      await vi.waitFor(async () => expect((await redis.keys(`${keyPrefix}*:semantic:sem:chat:n`)).length).toBeGreaterThan(0), { timeout: 5000, interval: 50 });
    } finally {
      redis.disconnect();
    }
    const paraphrase = await ask(clients(b, secrets.alpha!), "what's the capital of france", { route: "semantic" });
    expect(paraphrase.usage).toMatchObject({ cacheStatus: CacheStatus.HIT_SEMANTIC, costMicrosUsd: 0n });
    expect(textOf(paraphrase)).toBe("Paris.");
    const different = await ask(clients(b, secrets.alpha!), "What is the capital of Germany?", { route: "semantic" });
    expect(textOf(different)).toBe("Berlin.");
    expect((await ask(clients(b, secrets.bravo!), "what's the capital of france", { route: "semantic" }).catch(() => undefined))?.usage?.cacheStatus).not.toBe(CacheStatus.HIT_SEMANTIC);
  });

  it("keeps the whole-cache purge and statistics to platform admins", async () => {
    const alpha = clients(a, secrets.alpha!);
    expect(await alpha.cache.purgeCache({}).catch((e: Error) => e.message)).toContain("SCOPE_PLATFORM_ADMIN");
    expect(await alpha.cache.getCacheStats({}).catch((e: Error) => e.message)).toContain("SCOPE_PLATFORM_ADMIN");
  });

  it("purges by key prefix: only entries whose key starts with it", async () => {
    const alpha = clients(a, secrets.alpha!);
    expect((await alpha.cache.purgeCache({ parent: "orgs/alpha", keyPrefix: "ffffffffffffffff" })).purged).toBe(0n);
    expect((await ask(alpha, "What is our refund policy?")).usage?.cacheStatus).toBe(CacheStatus.HIT_EXACT);
  });
});

describe("response cache with Redis down", () => {
  it("bypasses the cache without failing the request or waiting beyond the command timeout", async () => {
    const dead = createRedisState({ url: "redis://127.0.0.1:1", commandTimeoutMs: 50, connectTimeoutMs: 50 });
    states.push(dead);
    const gw = await startTestGateway({
      databaseUrl: database.url,
      noBootstrap: true,
      baseUrls: { openai: `${openai.url}/v1` },
      credentials: new Map([["credentials/openai", "sk-test"]]),
      state: dead,
    });
    try {
      await gw.models.resolver.refresh();
      openai.reset();
      const alpha = clients(gw, secrets.alpha!);
      const timings: number[] = [];
      for (let i = 0; i < 3; i++) {
        const started = performance.now();
        const res = await ask(alpha, "while redis is down");
        timings.push(performance.now() - started);
        expect(res.usage?.cacheStatus).toBe(CacheStatus.BYPASS);
      }
      expect(openai.requests()).toHaveLength(3);
      // One command timeout (50 ms, twice at most while connecting) on the first call; none after.
      expect(timings[0]).toBeLessThan(1_000);
      expect(Math.max(timings[1]!, timings[2]!)).toBeLessThan(timings[0]! + 100);
    } finally {
      states = states.filter((s) => s !== dead);
      await gw.close();
      await dead.close();
    }
  });
});
