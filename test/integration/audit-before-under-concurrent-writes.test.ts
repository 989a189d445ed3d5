/**
 * An audit event's `before` is the state its write replaced (P21, "before/after diff"), also when
 * admins write one resource at once: the successful events of one resource form one chain, each
 * `before` equal to the `after` of the write it replaced. A `before` read outside the write's
 * transaction (a get, then the write) is not: two updates both record the state before either,
 * and a delete records a state someone else's update had already replaced.
 *
 * The race is forced, not hoped for: another session holds the row FOR UPDATE while every
 * writer starts, one by one, until it waits on that lock (so each has done whatever it does
 * before its write); then the lock goes and they write in the order they queued. Where updates
 * compare-and-set on a revision (routes, guardrail policies), only a delete after a landed update
 * can record a stale `before`, and whether the update's own answer loses its race with that
 * delete is up to timing: there the race is likely, not certain.
 */
import { isDeepStrictEqual } from "node:util";
import { toJson, type JsonObject, type JsonValue } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import fc from "fast-check";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuditOutcome, type AuditEvent } from "../../gen/ts/switchboard/v1/audit_service_pb.js";
import { BudgetSchema, RateLimitSchema } from "../../gen/ts/switchboard/v1/budget_service_pb.js";
import { CredentialSchema } from "../../gen/ts/switchboard/v1/credential_service_pb.js";
import { KeySchema } from "../../gen/ts/switchboard/v1/key_service_pb.js";
import { PromptTemplateSchema } from "../../gen/ts/switchboard/v1/prompt_service_pb.js";
import { RouteSchema } from "../../gen/ts/switchboard/v1/route_service_pb.js";
import { OrgSchema, TeamSchema } from "../../gen/ts/switchboard/v1/tenant_service_pb.js";
import { GuardrailAction, GuardrailPolicySchema } from "../../gen/ts/switchboard/v1/guardrail_service_pb.js";
import { BudgetPeriod, GuardrailStage } from "../../gen/ts/switchboard/v1/error_details_pb.js";
import { Scope } from "../../gen/ts/switchboard/v1/options_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { Verb } from "../../gen/ts/switchboard/v1/common_pb.js";
import { clientsFor, outcome, type KeyedClients } from "../support/clients.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { pidOf, untilQueued } from "../support/lock-queue.js";
import { createTestDatabase, withClient, type TestDatabase } from "../support/postgres.js";

let database: TestDatabase;
let gw: TestGateway;
let admin: KeyedClients;

beforeAll(async () => {
  database = await createTestDatabase();
  // Every writer holds a connection while it waits on the lock.
  gw = await startTestGateway({ databaseUrl: database.url, pool: 12 });
  admin = clientsFor(gw.url, gw.adminKey);
  await admin.tenants.createOrg({ orgId: "acme", org: {} });
  await admin.tenants.createTeam({ parent: "orgs/acme", teamId: "web", team: {} });
}, 30_000);
afterAll(async () => {
  await gw?.close();
  await database?.drop();
});

/** One kind of audited resource: how to make one, change it (`n` tells the changes apart) and end it. */
interface Kind {
  /** Its table, and the column its last name segment is stored in (for the lock). */
  table: string;
  column: string;
  /** Creates a resource whose last name segment is `id`; its resource name. */
  create(id: string): Promise<string>;
  update(name: string, n: number): Promise<unknown>;
  /** A delete, or the change that ends the resource's use (RevokeKey). */
  end(name: string): Promise<unknown>;
  /** The resource as a Get returns it, in the audit log's JSON form. */
  read(name: string): Promise<JsonValue>;
}

const rules = [{ id: "deny", stage: GuardrailStage.INPUT, action: GuardrailAction.BLOCK, check: { case: "denyList" as const, value: { phrases: ["secret"] } } }];
const target = { provider: "sandbox", model: "sandbox-fast" };
const first = { messages: [{ role: Role.SYSTEM, template: "one" }] };
const readTemplate = async (name: string) => toJson(PromptTemplateSchema, (await admin.prompts.getPromptTemplate({ name })).template!);
const readKey = async (name: string) => toJson(KeySchema, (await admin.keys.getKey({ name })).key!);
const keyName = async (id: string) => (await admin.keys.createKey({ parent: "orgs/acme/teams/web", keyId: id, key: { scopes: [Scope.INVOKE] } })).key!.name;

const KINDS: Record<string, Kind> = {
  budget: {
    table: "budgets",
    column: "name",
    create: async (id) => (await admin.budgets.createBudget({ parent: "orgs/acme", budgetId: id, budget: { target: "orgs/acme", period: BudgetPeriod.MONTHLY, limitMicrosUsd: 1n } })).budget!.name,
    update: (name, n) => admin.budgets.updateBudget({ budget: { name, target: "orgs/acme", period: BudgetPeriod.MONTHLY, limitMicrosUsd: BigInt(1000 + n) }, updateMask: { paths: ["limit_micros_usd"] } }),
    end: (name) => admin.budgets.deleteBudget({ name }),
    read: async (name) => toJson(BudgetSchema, (await admin.budgets.getBudget({ name })).budget!),
  },
  "rate limit": {
    table: "rate_limits",
    column: "name",
    create: async (id) => (await admin.budgets.createRateLimit({ parent: "orgs/acme", rateLimitId: id, rateLimit: { target: "orgs/acme", requestsPerMinute: 1n } })).rateLimit!.name,
    update: (name, n) => admin.budgets.updateRateLimit({ rateLimit: { name, target: "orgs/acme", requestsPerMinute: BigInt(1000 + n) }, updateMask: { paths: ["requests_per_minute"] } }),
    end: (name) => admin.budgets.deleteRateLimit({ name }),
    read: async (name) => toJson(RateLimitSchema, (await admin.budgets.getRateLimit({ name })).rateLimit!),
  },
  "guardrail policy": {
    table: "guardrail_policies",
    column: "policy_id",
    create: async (id) => (await admin.guardrails.createGuardrailPolicy({ parent: "orgs/acme", policyId: id, policy: { rules } })).policy!.name,
    update: (name, n) => admin.guardrails.updateGuardrailPolicy({ policy: { name, description: `v${n}`, rules }, updateMask: { paths: ["description"] } }),
    end: (name) => admin.guardrails.deleteGuardrailPolicy({ name }),
    read: async (name) => toJson(GuardrailPolicySchema, (await admin.guardrails.getGuardrailPolicy({ name })).policy!),
  },
  route: {
    table: "routes",
    column: "alias",
    create: async (id) => (await admin.routes.createRoute({ parent: "orgs/acme", routeId: id, route: { targets: [target] } })).route!.name,
    update: (name, n) => admin.routes.updateRoute({ route: { name, description: `v${n}`, targets: [target] }, updateMask: { paths: ["description"] } }),
    end: (name) => admin.routes.deleteRoute({ name }),
    read: async (name) => toJson(RouteSchema, (await admin.routes.getRoute({ name })).route!),
  },
  "prompt template": {
    table: "prompt_templates",
    column: "name",
    create: async (id) => (await admin.prompts.createPromptTemplate({ parent: "orgs/acme", promptId: id, template: { verb: Verb.CHAT }, firstVersion: first })).template!.name,
    update: (name, n) => admin.prompts.updatePromptTemplate({ template: { name, verb: Verb.CHAT, description: `v${n}` }, updateMask: { paths: ["description"] } }),
    end: (name) => admin.prompts.deletePromptTemplate({ name }),
    read: readTemplate,
  },
  "prompt activation": {
    table: "prompt_templates",
    column: "name",
    create: async (id) => {
      const name = (await admin.prompts.createPromptTemplate({ parent: "orgs/acme", promptId: id, template: { verb: Verb.CHAT }, firstVersion: first })).template!.name;
      await admin.prompts.createPromptVersion({ parent: name, version: { messages: [{ role: Role.SYSTEM, template: "two" }] } });
      return name;
    },
    update: (name, n) => admin.prompts.activatePromptVersion({ name: `${name}/versions/${(n % 2) + 1}` }),
    end: (name) => admin.prompts.deletePromptTemplate({ name }),
    read: readTemplate,
  },
  credential: {
    table: "credentials",
    column: "name",
    create: async (id) => (await admin.credentials.createCredential({ parent: "orgs/acme", credentialId: id, credential: { provider: "openai" }, value: "sk-test-0123456789" })).credential!.name,
    update: (name, n) => admin.credentials.updateCredential({ credential: { name, displayName: `v${n}` }, updateMask: { paths: ["display_name"] } }),
    end: (name) => admin.credentials.deleteCredential({ name }),
    read: async (name) => toJson(CredentialSchema, (await admin.credentials.getCredential({ name })).credential!),
  },
  key: {
    table: "keys",
    column: "name",
    create: keyName,
    update: (name, n) => admin.keys.updateKey({ key: { name, displayName: `v${n}` }, updateMask: { paths: ["display_name"] } }),
    end: (name) => admin.keys.revokeKey({ name }),
    read: readKey,
  },
  "key rotation": {
    table: "keys",
    column: "name",
    create: keyName,
    update: (name) => admin.keys.rotateKey({ name }),
    end: (name) => admin.keys.revokeKey({ name }),
    read: readKey,
  },
  org: {
    table: "orgs",
    column: "name",
    create: async (id) => (await admin.tenants.createOrg({ orgId: id, org: {} })).org!.name,
    update: (name, n) => admin.tenants.updateOrg({ org: { name, displayName: `v${n}` }, updateMask: { paths: ["display_name"] } }),
    end: (name) => admin.tenants.deleteOrg({ name }),
    read: async (name) => toJson(OrgSchema, (await admin.tenants.getOrg({ name })).org!),
  },
  team: {
    table: "teams",
    column: "name",
    create: async (id) => (await admin.tenants.createTeam({ parent: "orgs/acme", teamId: id, team: {} })).team!.name,
    update: (name, n) => admin.tenants.updateTeam({ team: { name, displayName: `v${n}` }, updateMask: { paths: ["display_name"] } }),
    end: (name) => admin.tenants.deleteTeam({ name }),
    read: async (name) => toJson(TeamSchema, (await admin.tenants.getTeam({ name })).team!),
  },
};

/**
 * Runs `writes` while another session holds the row `column = id` of `table` FOR UPDATE, each
 * started once the one before waits on the lock; then lets them all go. How each ended.
 */
async function raced(table: string, column: string, id: string, writes: (() => Promise<unknown>)[]): Promise<string[]> {
  return withClient(database.url, (holder) =>
    withClient(database.url, async (watcher) => {
      const holderPid = await pidOf(holder);
      await holder.query("begin");
      const locked = await holder.query(`select 1 from ${table} where ${column} = $1 for update`, [id]);
      expect(locked.rowCount).toBe(1);
      const pending: Promise<string>[] = [];
      try {
        for (const write of writes) {
          pending.push(outcome(write() as Promise<unknown>));
          await untilQueued(watcher, holderPid, pending.length);
        }
      } finally {
        await holder.query("rollback");
      }
      return Promise.all(pending);
    }),
  );
}

/** The successful audit events of `resource` (and of names under it) after sequence `after`, oldest first. */
async function eventsOf(resource: string, after: bigint): Promise<AuditEvent[]> {
  await gw.server.audit.drain();
  const page = await admin.audit.listAuditEvents({ resourcePrefix: resource, outcome: AuditOutcome.SUCCESS, pageSize: 1000 });
  return page.events.filter((e) => e.sequence > after && (e.resource === resource || e.resource.startsWith(`${resource}/`))).sort((a, b) => Number(a.sequence - b.sequence));
}

/**
 * Follows the chain from `start`: each step the one event whose `before` is the current state,
 * after any that changed nothing there (a repeated RevokeKey: before and after both that state).
 * How many events it linked and the state it ends in; where it stops early, the state and the
 * befores left.
 */
function chainFrom(start: JsonObject | undefined, events: AuditEvent[]): { linked: number; end?: JsonObject; stuckAt?: { state: unknown; befores: unknown[] } } {
  const left = [...events];
  let state = start;
  const take = (e: AuditEvent) => left.splice(left.indexOf(e), 1);
  while (left.length > 0) {
    for (const same of left.filter((e) => isDeepStrictEqual(e.before, state) && isDeepStrictEqual(e.after, state))) take(same);
    if (left.length === 0) break;
    const next = left.filter((e) => isDeepStrictEqual(e.before, state));
    if (next.length !== 1 || state === undefined) return { linked: events.length - left.length, stuckAt: { state, befores: left.map((e) => e.before) } };
    take(next[0]!);
    state = next[0]!.after;
  }
  return { linked: events.length, ...(state === undefined ? {} : { end: state }) };
}

/** Undefined for a NotFound (a deleted resource); any other error stands. */
function gone(err: unknown): undefined {
  if (ConnectError.from(err).code !== Code.NotFound) throw err;
  return undefined;
}

let serial = 0;

describe("audit `before` under concurrent writes of one resource", () => {
  for (const [kind, k] of Object.entries(KINDS)) {
    it(`${kind}: each event's before is the previous event's after`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(fc.constantFrom("update" as const, "end" as const), { minLength: 2, maxLength: 4 }), async (ops) => {
          const id = `race-${serial++}`;
          const name = await k.create(id);
          await k.update(name, 0); // its after anchors the chain
          const [anchor] = (await eventsOf(name, 0n)).slice(-1);
          const outcomes = await raced(k.table, k.column, id, ops.map((op, i) => () => (op === "update" ? k.update(name, i + 1) : k.end(name))));
          const events = await eventsOf(name, anchor!.sequence);
          expect(events.length).toBe(outcomes.filter((o) => o === "ok").length);
          // Every write that landed was answered `ok` and audited: the chain ends where the resource is.
          const now = await k.read(name).catch(gone);
          expect({ ops, outcomes, chain: chainFrom(anchor!.after, events) }).toEqual({ ops, outcomes, chain: { linked: events.length, ...(now === undefined ? {} : { end: now }) } });
        }),
        // Two updates and a delete: stale either way (updates that all succeed, or a delete after a
        // compare-and-set update) for every kind, so the property fails at once without the fix.
        { numRuns: 4, examples: [[["update", "update", "end"]]] },
      );
    }, 60_000);
  }
});
