/**
 * The rig of the dispatch fault tests: one gateway (every interceptor and pipeline stage) on its
 * own PGlite, routes seeded from config-file YAML, the wire-faithful OpenAI fake as every target
 * (targets differ by model, so each has its own breaker), and an application key.
 */
import { parse as parseYaml } from "yaml";
import { TEST_PRICES } from "../../server/limits/money-harness.testing.js";
import type { ConfigIssue } from "../../server/config/config-error.js";
import { parseConfigRoutes } from "../../server/config/route-config.js";
import type { FakeProvider } from "../fakes/fake-types.js";
import { startOpenAIFake } from "../fakes/openai-fake.js";
import { startTestGateway, type TestGateway, type TestGatewayOptions } from "../support/gateway.js";
import { createAppKey, moneyClients, type MoneyClients } from "../support/money.js";

/** A running rig. */
export interface DispatchRig {
  gw: TestGateway;
  fake: FakeProvider;
  /** Clients sending the application key. */
  app: MoneyClients;
  /** The gateway's `/metrics` text. */
  metrics(): Promise<string>;
  close(): Promise<void>;
}

/** Starts the rig with the routes of a config file's `routes:` section (YAML). */
export async function startDispatchRig(routesYaml: string, extra: TestGatewayOptions = {}): Promise<DispatchRig> {
  const issues: ConfigIssue[] = [];
  const routes = parseConfigRoutes((parseYaml(routesYaml) as { routes: unknown }).routes, issues);
  if (issues.length > 0) throw new Error(`bad test routes: ${JSON.stringify(issues)}`);
  const fake = await startOpenAIFake();
  const gw = await startTestGateway({
    routes,
    baseUrls: { openai: `${fake.url}/v1` },
    credentials: new Map([["credentials/openai", "sk-test"]]),
    prices: TEST_PRICES,
    ...extra,
  });
  const app = await createAppKey(moneyClients(gw.url, gw.adminKey), "acme");
  return {
    gw,
    fake,
    app: moneyClients(gw.url, app.secret),
    metrics: async () => (await fetch(`${gw.url}/metrics`)).text(),
    async close() {
      await gw.close();
      await fake.close();
    },
  };
}

/** Polls `check` until it returns true or `timeoutMs` passes (then throws `what`). */
export async function eventually(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The models of the fake's requests, in order. */
export function modelsSeen(fake: FakeProvider): string[] {
  return fake.requests().map((r) => (r.body as { model: string }).model);
}
