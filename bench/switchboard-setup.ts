/**
 * Starts a Switchboard replica for the benchmark and configures it through its own admin API:
 *
 * - `embedded`: the default a first `npm start` gets (PGlite, in-process state), admin key, a route
 *   `bench` to the upstream; no budget, limit, guardrail policy or cache.
 * - `production`: Postgres (a fresh database on `DATABASE_URL`) and Redis (`REDIS_URL`), the request
 *   log on (metadata), and an application key (SCOPE_INVOKE) of its own org carrying a budget and a
 *   rate limit (both far from exhausted), an org guardrail policy (PII redaction in, a deny list in
 *   and out, injection scoring in) and a route with the response cache on (10 min TTL). The usage
 *   ledger and the access log are on in both.
 *
 * `omit` leaves features out of `production`, one at a time for `bench/ablation.ts`: each is removed
 * as its operator would (no budget created, no limit, no policy, a route without cache, the request
 * log off, `ledger.fsync=never`, no `REDIS_URL` — in-process state, budget and limit still set).
 *
 * The replica runs as `npm start` runs it, compiled by scripts/build.mjs (built once per benchmark
 * process); a benchmark's `--runtime tsx` flag runs it from source with tsx instead, to compare.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { createClient, type Interceptor, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { BudgetService } from "../gen/ts/switchboard/v1/budget_service_pb.js";
import { CapabilityService } from "../gen/ts/switchboard/v1/capability_service_pb.js";
import { BudgetPeriod } from "../gen/ts/switchboard/v1/error_details_pb.js";
import { GuardrailStage } from "../gen/ts/switchboard/v1/error_details_pb.js";
import { GuardrailAction, GuardrailRuleSchema, GuardrailService } from "../gen/ts/switchboard/v1/guardrail_service_pb.js";
import { KeyService } from "../gen/ts/switchboard/v1/key_service_pb.js";
import { Scope } from "../gen/ts/switchboard/v1/options_pb.js";
import { RouteService } from "../gen/ts/switchboard/v1/route_service_pb.js";
import { TenantService } from "../gen/ts/switchboard/v1/tenant_service_pb.js";
import { generateSecret } from "../server/auth/key-format.js";
import { createTestDatabase, type TestDatabase } from "../test/support/postgres.js";
import { arg } from "./cli.js";
import { buildOnce, runtimeFlag, startNode, type BenchProcess, type Runtime } from "./processes.js";

/** A configured replica: the key to call it with and what to tear down. */
export interface BenchGateway {
  process: BenchProcess;
  url: string;
  /** The bearer secret of the calls measured (the admin key embedded, the app key in production). */
  key: string;
  /** Every tenant's app key (`tenants`; `[key]` with one tenant). */
  keys: string[];
  /** Stops the replica and drops its database. */
  close(): Promise<void>;
}

/** The bearer of call `i` to `gw`: its tenants' keys in turn. */
export const bearerOf = (gw: BenchGateway, i: number): string => `Bearer ${gw.keys[i % gw.keys.length]}`;

/** A feature of the `production` pipeline that {@link SwitchboardOptions.omit} can leave out. */
export type Feature = "budget" | "ratelimit" | "guardrails" | "cache" | "requestlog" | "fsync" | "redis";
export const FEATURES: readonly Feature[] = ["budget", "ratelimit", "guardrails", "cache", "requestlog", "fsync", "redis"];

/** A bench script's `--omit budget,ratelimit,…` flag: the features of `production` to leave out. */
export function omitFlag(): Set<Feature> {
  return new Set(
    arg("omit", "")
      .split(",")
      .filter(Boolean)
      .map((f) => {
        if (!(FEATURES as readonly string[]).includes(f)) throw new Error(`--omit: unknown feature ${f} (${FEATURES.join(", ")})`);
        return f as Feature;
      }),
  );
}

/** Options of {@link startSwitchboard}. */
export interface SwitchboardOptions {
  upstreamUrl: string;
  mode: "embedded" | "production";
  /** Start with `--cpu-prof` into this folder (SB_BENCH_PROFILE). */
  profileDir?: string;
  /** Compiled (default) or tsx; default: the process's `--runtime` flag. */
  runtime?: Runtime;
  /** Features of `production` left out (default: none). */
  omit?: ReadonlySet<Feature>;
  /**
   * `production` with rate limits on the key's team and org too (three levels, requests and
   * tokens each), as a deployment that caps teams and orgs has; default: the key's only.
   */
  layeredLimits?: boolean;
  /**
   * `production` with this many tenants (orgs), each configured alike (key, budget, rate limits,
   * guardrail policy), for callers that spread their calls over them; default 1.
   */
  tenants?: number;
  /** More Node flags for this replica (after SB_GATEWAY_NODE_FLAGS'), e.g. a memory probe's (`gateway-memory.ts`). */
  nodeFlags?: readonly string[];
  /** More environment for this replica, e.g. a memory probe's (`gateway-memory.ts`). */
  env?: Readonly<Record<string, string>>;
}

const withKey = (secret: string): Interceptor => (next) => (req) => {
  req.header.set("authorization", `Bearer ${secret}`);
  return next(req);
};

/** Starts and configures one replica; resolves once its route (and policies) are live. */
export async function startSwitchboard(opts: SwitchboardOptions): Promise<BenchGateway> {
  const adminKey = generateSecret();
  const env: Record<string, string | undefined> = {
    // The embedded default ignores whatever the calling shell points at.
    DATABASE_URL: undefined,
    REDIS_URL: undefined,
    SWITCHBOARD_PORT: "0",
    SWITCHBOARD_DATA_DIR: mkdtempSync(join(tmpdir(), "sb-bench-")),
    // Its own ledger buffer: unset, it is `ledger` beside the data dir (/tmp/ledger), locked by
    // whichever replica of any concurrent run started first.
    SWITCHBOARD_LEDGER_DIR: mkdtempSync(join(tmpdir(), "sb-bench-ledger-")),
    SWITCHBOARD_BOOTSTRAP_KEY: adminKey,
    SWITCHBOARD_BASE_URL_OPENAI: `${opts.upstreamUrl}/v1`,
    SWITCHBOARD_CREDENTIAL_OPENAI: "sk-bench-not-a-real-key",
    SWITCHBOARD_LOG_LEVEL: "info",
    // No load shedding: the benchmark opens 1,000 streams with one key, and the default caps
    // (1,024 calls per replica, 256 per key) would refuse the rest; the figures measure cost.
    SWITCHBOARD_MAX_IN_FLIGHT: "0",
    SWITCHBOARD_MAX_IN_FLIGHT_PER_KEY: "0",
    ...opts.env,
  };
  let database: TestDatabase | undefined;
  const omit = opts.omit ?? new Set<Feature>();
  if (opts.mode === "production") {
    if (!process.env.DATABASE_URL || !process.env.REDIS_URL) throw new Error("the production pipeline needs DATABASE_URL and REDIS_URL");
    database = await createTestDatabase();
    Object.assign(env, {
      DATABASE_URL: database.url,
      REDIS_URL: process.env.REDIS_URL,
      SWITCHBOARD_KEY_PEPPER: randomBytes(32).toString("base64"),
      SWITCHBOARD_MASTER_KEY: randomBytes(32).toString("base64"),
      SWITCHBOARD_LEDGER_DIR: mkdtempSync(join(tmpdir(), "sb-bench-ledger-")),
      SWITCHBOARD_REQUEST_LOG_MODE: "metadata",
      SWITCHBOARD_LIMITS_POLL_MS: "500",
      // The default 50 ms Redis command timeout fails closed when the load generator starves Redis
      // of the shared 2 cores; production runs Redis on its own cores.
      SWITCHBOARD_REDIS_COMMAND_TIMEOUT_MS: "1000",
    });
    if (omit.has("redis")) env.REDIS_URL = undefined;
    if (omit.has("requestlog")) env.SWITCHBOARD_REQUEST_LOG_MODE = "off";
    if (omit.has("fsync")) env.SWITCHBOARD_LEDGER_FSYNC = "never";
  }
  const runtime = opts.runtime ?? runtimeFlag();
  const proc = await startNode("server/main.ts", [], {
    env,
    ...(runtime === "build" ? { dist: buildOnce() } : {}),
    readyLine: /"url":"http:\/\/127\.0\.0\.1:(\d+)"/,
    // SB_GATEWAY_NODE_FLAGS: extra Node flags for the gateway only (e.g. a GC or heap setting to compare);
    // SB_GATEWAY_NODE: another Node binary for the gateway only (to compare runtimes).
    ...(process.env.SB_GATEWAY_NODE ? { node: process.env.SB_GATEWAY_NODE } : {}),
    nodeFlags: [
      ...(process.env.SB_GATEWAY_NODE_FLAGS ?? "").split(" ").filter(Boolean),
      ...(opts.nodeFlags ?? []),
      ...(opts.profileDir ? ["--cpu-prof", `--cpu-prof-dir=${opts.profileDir}`] : []),
    ],
  });
  const url = `http://127.0.0.1:${proc.port}`;
  const admin = createConnectTransport({ baseUrl: url, httpVersion: "1.1", interceptors: [withKey(adminKey)] });
  const close = async () => {
    await proc.stop();
    await database?.drop();
  };
  try {
    const keys = opts.mode === "production" ? await configureProduction(admin, omit, opts.layeredLimits ?? false, opts.tenants ?? 1) : [await configureEmbedded(admin, adminKey)];
    await new Promise((r) => setTimeout(r, 1_500)); // one route / limits / policy poll interval
    return { process: proc, url, key: keys[0]!, keys, close };
  } catch (err) {
    await close();
    throw err;
  }
}

async function configureEmbedded(admin: Transport, adminKey: string): Promise<string> {
  await createClient(RouteService, admin).createRoute({
    routeId: "bench",
    route: { targets: [{ provider: "openai", model: "gpt-4o-mini", credential: "credentials/openai" }] },
  });
  return adminKey;
}

async function configureProduction(admin: Transport, omit: ReadonlySet<Feature>, layeredLimits: boolean, tenants: number): Promise<string[]> {
  const keys: string[] = [];
  for (let t = 0; t < tenants; t++) keys.push(await configureTenant(admin, omit, layeredLimits));
  await createClient(RouteService, admin).createRoute({
    routeId: "bench",
    route: {
      targets: [{ provider: "openai", model: "gpt-4o-mini", credential: "credentials/openai" }],
      ...(omit.has("cache") ? {} : { cache: { ttl: { seconds: 600n } } }),
    },
  });
  return keys;
}

/** One org with its team, app key, budget, rate limits and guardrail policy; its key's secret. */
async function configureTenant(admin: Transport, omit: ReadonlySet<Feature>, layeredLimits: boolean): Promise<string> {
  const org = `bench-${randomBytes(4).toString("hex")}`;
  const tenants = createClient(TenantService, admin);
  await tenants.createOrg({ orgId: org, org: {} });
  await tenants.createTeam({ parent: `orgs/${org}`, teamId: "app", team: {} });
  const created = await createClient(KeyService, admin).createKey({ parent: `orgs/${org}/teams/app`, keyId: "app", key: { scopes: [Scope.INVOKE] } });
  const keyName = created.key!.name;
  const budgets = createClient(BudgetService, admin);
  // Far from exhausted: every call reserves, settles and is ledgered, none is refused. Tokens per
  // minute count the worst case (input + 4,096 reserved output tokens) of every miss, so the
  // limit is the largest allowed (10^11): 100M would refuse misses after ~25,000 calls.
  if (!omit.has("budget")) await budgets.createBudget({ parent: `orgs/${org}`, budgetId: "key", budget: { target: keyName, limitMicrosUsd: 10n ** 15n, period: BudgetPeriod.MONTHLY } });
  const targets = layeredLimits ? [keyName, `orgs/${org}/teams/app`, `orgs/${org}`] : [keyName];
  if (!omit.has("ratelimit")) {
    for (const [i, target] of targets.entries()) {
      await budgets.createRateLimit({ parent: `orgs/${org}`, rateLimitId: `limit-${i}`, rateLimit: { target, requestsPerMinute: 1_000_000n, tokensPerMinute: 100_000_000_000n } });
    }
  }
  const rule = (init: Parameters<typeof create<typeof GuardrailRuleSchema>>[1]) => create(GuardrailRuleSchema, init);
  if (!omit.has("guardrails")) {
    await createClient(GuardrailService, admin).createGuardrailPolicy({
      parent: `orgs/${org}`,
      policyId: "bench",
      policy: {
        enabled: true,
        attachments: [`orgs/${org}`],
        rules: [
          rule({ id: "pii", stage: GuardrailStage.INPUT, action: GuardrailAction.REDACT, check: { case: "pii", value: { restoreInResponse: true } } }),
          rule({ id: "deny", stage: GuardrailStage.BOTH, action: GuardrailAction.BLOCK, check: { case: "denyList", value: { phrases: Array.from({ length: 50 }, (_, i) => `forbidden phrase ${i}`) } } }),
          rule({ id: "injection", stage: GuardrailStage.INPUT, action: GuardrailAction.LOG, check: { case: "injection", value: {} } }),
        ],
      },
    });
  }
  return created.secret;
}

/** `CapabilityService` clients calling `gw` with its key: Connect (HTTP/1.1, binary) and gRPC (h2c). */
export function capabilityClients(gw: Pick<BenchGateway, "url" | "key">) {
  const interceptors = [withKey(gw.key)];
  return {
    connect: createClient(CapabilityService, createConnectTransport({ baseUrl: gw.url, httpVersion: "1.1", useBinaryFormat: true, interceptors })),
    grpc: createClient(CapabilityService, createGrpcTransport({ baseUrl: gw.url, interceptors })),
  };
}
