/**
 * The rig of the dispatch fault tests: one gateway (every interceptor and pipeline stage) on its
 * own PGlite, routes seeded from config-file YAML, the wire-faithful OpenAI fake as every target
 * (targets differ by model, so each has its own breaker), and an application key.
 */
import { afterAll, beforeAll } from "vitest";
import { parse as parseYaml } from "yaml";
import type { ConfigIssue } from "../../server/config/config-error.js";
import { parseConfigRoutes } from "../../server/config/route-config.js";
import type { FakeProvider } from "../fakes/fake-types.js";
import { startOpenAIFake } from "../fakes/openai-fake.js";
import { startTestGateway, type TestGateway, type TestGatewayOptions } from "../support/gateway.js";
import { createAppKey, moneyClients, type MoneyClients } from "../support/money.js";
import { fakeProviderOptions } from "../support/money-rig.js";

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
  const gw = await startTestGateway({ routes, ...fakeProviderOptions(fake), ...extra });
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

/**
 * Starts the rig for the calling test file (in `beforeAll`, stopped in `afterAll`): the returned
 * rig reads through to the running one, so use it inside hooks and tests only.
 */
export function useDispatchRig(routesYaml: string, extra: TestGatewayOptions = {}): DispatchRig {
  let rig: DispatchRig | undefined;
  beforeAll(async () => {
    rig = await startDispatchRig(routesYaml, extra);
  }, 30_000);
  afterAll(async () => {
    await rig?.close();
  });
  const current = (): DispatchRig => {
    if (rig === undefined) throw new Error("the dispatch rig is not running: use it inside hooks and tests");
    return rig;
  };
  return {
    get gw() {
      return current().gw;
    },
    get fake() {
      return current().fake;
    },
    get app() {
      return current().app;
    },
    metrics: () => current().metrics(),
    close: () => current().close(),
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
