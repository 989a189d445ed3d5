import { randomBytes } from "node:crypto";
import { Scope } from "../../gen/ts/switchboard/v1/options_pb.js";
import { createRedisState } from "../../server/store/state/redis-state.js";
import type { FakeProvider } from "../fakes/fake-types.js";
import { startOpenAIFake } from "../fakes/openai-fake.js";
import { startTestGateway, type TestGateway } from "./gateway.js";
import { moneyClients, type MoneyClients } from "./money.js";
import { createTestDatabase } from "./postgres.js";
import { requireEnv } from "./require-env.js";

/** The OpenAI fake's gpt-4o-mini, as a route target. */
export const MINI_TARGET = { provider: "openai", model: "gpt-4o-mini", credential: "credentials/openai" };

/** A gateway with cached routes in front of the OpenAI fake (see {@link startCacheRoutesGateway}). */
export interface CacheRoutesGateway {
  gw: TestGateway;
  openai: FakeProvider;
  /** Platform-admin clients. */
  admin: MoneyClients;
  /** The secret of `orgs/alpha/teams/app/keys/any` (SCOPE_INVOKE, any model). */
  anySecret: string;
  /** Stops the gateway, clears and closes its Redis key space, stops the fake and drops the database. */
  close(): Promise<void>;
}

/**
 * A gateway on a fresh Postgres and a private Redis key space (`sbtest:<label>:<random>:`) in
 * front of the OpenAI fake, every attempt billed 1 500 µ$; org `alpha` with team `app` and its key
 * `any`; and the routes `cached` (exact cache) and `semantic` (semantic cache) to gpt-4o-mini,
 * one attempt each, 60 s TTL.
 */
export async function startCacheRoutesGateway(label: string): Promise<CacheRoutesGateway> {
  const [database, openai] = await Promise.all([createTestDatabase(), startOpenAIFake()]);
  const keyPrefix = `sbtest:${label}:${randomBytes(6).toString("hex")}:`;
  const state = createRedisState({ url: requireEnv("REDIS_URL"), keyPrefix, commandTimeoutMs: 200 });
  let gw: TestGateway | undefined;
  const close = async () => {
    await gw?.close();
    await state.deleteByPrefix("").then(() => state.close());
    await openai.close();
    await database.drop();
  };
  try {
    gw = await startTestGateway({
      databaseUrl: database.url,
      baseUrls: { openai: `${openai.url}/v1` },
      credentials: new Map([["credentials/openai", "sk-test"]]),
      cost: () => 1_500n,
      state,
    });
    const admin = moneyClients(gw.url, gw.adminKey);
    await admin.tenants.createOrg({ orgId: "alpha", org: {} });
    await admin.tenants.createTeam({ parent: "orgs/alpha", teamId: "app", team: {} });
    const anySecret = (await admin.keys.createKey({ parent: "orgs/alpha/teams/app", keyId: "any", key: { scopes: [Scope.INVOKE] } })).secret;
    await admin.routes.createRoute({ routeId: "cached", route: { targets: [MINI_TARGET], cache: { ttl: { seconds: 60n } }, retry: { maxAttempts: 1 } } });
    await admin.routes.createRoute({ routeId: "semantic", route: { targets: [MINI_TARGET], cache: { ttl: { seconds: 60n }, semantic: true }, retry: { maxAttempts: 1 } } });
    await gw.models.resolver.refresh();
    return { gw, openai, admin, anySecret, close };
  } catch (err) {
    await close();
    throw err;
  }
}
