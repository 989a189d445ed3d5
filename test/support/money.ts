import { createClient, type Client } from "@connectrpc/connect";
import { BudgetService } from "../../gen/ts/switchboard/v1/budget_service_pb.js";
import { CapabilityService } from "../../gen/ts/switchboard/v1/capability_service_pb.js";
import { GuardrailService } from "../../gen/ts/switchboard/v1/guardrail_service_pb.js";
import { KeyService } from "../../gen/ts/switchboard/v1/key_service_pb.js";
import { Scope } from "../../gen/ts/switchboard/v1/options_pb.js";
import { RouteService } from "../../gen/ts/switchboard/v1/route_service_pb.js";
import { TenantService } from "../../gen/ts/switchboard/v1/tenant_service_pb.js";
import { UsageService } from "../../gen/ts/switchboard/v1/usage_service_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { redisKeySpace, type RedisKeySpace } from "../../server/limits/redis-key-space.testing.js";
import { createRedisState } from "../../server/store/state/redis-state.js";
import type { StateBackend } from "../../server/store/state/state-backend.js";
import { keyedTransport } from "./clients.js";
import { startTestGateway, type TestGateway, type TestGatewayOptions } from "./gateway.js";
import { requireEnv } from "./require-env.js";

/** gRPC clients of the money-related services for one key. */
export interface MoneyClients {
  tenants: Client<typeof TenantService>;
  keys: Client<typeof KeyService>;
  routes: Client<typeof RouteService>;
  budgets: Client<typeof BudgetService>;
  usage: Client<typeof UsageService>;
  verbs: Client<typeof CapabilityService>;
  guardrails: Client<typeof GuardrailService>;
}

/** Creates {@link MoneyClients} for the gateway at `url`, sending `secret` as the bearer key. */
export function moneyClients(url: string, secret: string): MoneyClients {
  const transport = keyedTransport(url, secret);
  return {
    tenants: createClient(TenantService, transport),
    keys: createClient(KeyService, transport),
    routes: createClient(RouteService, transport),
    budgets: createClient(BudgetService, transport),
    usage: createClient(UsageService, transport),
    verbs: createClient(CapabilityService, transport),
    guardrails: createClient(GuardrailService, transport),
  };
}

/** An org with a team `app` and an application key in it (SCOPE_INVOKE); resolves its secret and name. */
export async function createAppKey(admin: MoneyClients, org: string, keyId = "app"): Promise<{ secret: string; name: string }> {
  await admin.tenants.createOrg({ orgId: org, org: {} }).catch(() => undefined);
  await admin.tenants.createTeam({ parent: `orgs/${org}`, teamId: "app", team: {} }).catch(() => undefined);
  const created = await admin.keys.createKey({ parent: `orgs/${org}/teams/app`, keyId, key: { scopes: [Scope.INVOKE] } });
  return { secret: created.secret, name: created.key!.name };
}

/** A one-message Chat/ChatStream request body. */
export function chatMessage(text: string) {
  return [{ role: Role.USER, content: [{ part: { case: "text" as const, value: text } }] }];
}

/** Parses RFC 4180 CSV (quoted fields, doubled quotes, CRLF records). */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") {
      row.push(field);
      field = "";
    } else if (c === "\r" && text[i + 1] === "\n") {
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
      i++;
    } else field += c;
  }
  if (field !== "" || row.length > 0) throw new Error("CSV does not end with CRLF");
  return rows;
}

/** Gateway replicas sharing one Postgres and one Redis key space (each with its own connection). */
export interface Replicas {
  gateways: TestGateway[];
  /** Platform-admin clients of each replica. */
  admins: MoneyClients[];
  /** The Redis keys the replicas wrote (for TTL checks). */
  keys: RedisKeySpace;
  /** Refreshes routes and budget / rate-limit definitions on every replica. */
  refresh(): Promise<void>;
  /** Flushes every replica's ledger buffer. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts `count` (default 3) gateways on one Postgres database and one Redis key space, as
 * separate replicas would run: each has its own pool, Redis connection, ledger buffer and caches.
 */
export async function startReplicas(databaseUrl: string, opts: TestGatewayOptions = {}, count = 3): Promise<Replicas> {
  const redisUrl = requireEnv("REDIS_URL");
  const admin = new Redis(redisUrl);
  const keys = redisKeySpace(admin, `sbtest:money:${randomBytes(6).toString("hex")}:`);
  const states: StateBackend[] = [];
  const gateways: TestGateway[] = [];
  const state = () => {
    const s = createRedisState({ url: redisUrl, keyPrefix: keys.prefix, commandTimeoutMs: 2000, connectTimeoutMs: 2000 });
    states.push(s);
    return s;
  };
  for (let i = 0; i < count; i++) {
    gateways.push(await startTestGateway({ ...opts, databaseUrl, state: state(), ...(i > 0 ? { adminKey: gateways[0]!.adminKey } : {}) }));
  }
  return {
    gateways,
    admins: gateways.map((gw) => moneyClients(gw.url, gw.adminKey)),
    keys,
    async refresh() {
      await Promise.all(gateways.flatMap((gw) => [gw.models.resolver.refresh(), gw.money.catalog.refresh()]));
    },
    async flush() {
      await Promise.all(gateways.map((gw) => gw.money.ledger.flush()));
    },
    async close() {
      await Promise.all(gateways.map((gw) => gw.close()));
      await Promise.all(states.map((s) => s.close()));
      await keys.clear();
      await admin.quit();
    },
  };
}
