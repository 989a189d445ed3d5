/**
 * A guardrail attachment racing the delete of what it names. CreateGuardrailPolicy and
 * UpdateGuardrailPolicy resolve each attachment to an internal id before writing; DeleteTeam and
 * DeleteOrg refuse while a live policy is attached. A delete that lands between the resolution
 * and the write must not leave a policy attached to an id that no longer exists (listed, but
 * applying to nothing — not even to a team re-created under that name): the write is refused as
 * if the lookup had missed.
 */
import { randomBytes } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { Code, createContextValues, type HandlerContext } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { GuardrailStage } from "../../gen/ts/switchboard/v1/error_details_pb.js";
import { CreateGuardrailPolicyRequestSchema, GuardrailAction, UpdateGuardrailPolicyRequestSchema } from "../../gen/ts/switchboard/v1/guardrail_service_pb.js";
import { Scope } from "../../gen/ts/switchboard/v1/options_pb.js";
import { useMigratedDatabase } from "../../test/support/migrated-database.js";
import { testPrincipal } from "../../test/support/principal.js";
import { kPrincipal } from "../interceptors/context-keys.js";
import { createGuardrailPolicyStore } from "../store/guardrail-policy-store.js";
import { createKeyStore, type KeyStore } from "../store/key-store.js";
import type { OrgScope } from "../store/paging.js";
import { createTenantStore, type TenantStore } from "../store/tenant-store.js";
import { createGuardrailService } from "./guardrail-service.js";
import { codeOf } from "../../test/support/code-of.js";

const admin = testPrincipal({ scopes: new Set([Scope.PLATFORM_ADMIN]) });
const ctx = { values: createContextValues().set(kPrincipal, admin) } as unknown as HandlerContext;
const ALL: OrgScope = { allOrgs: true };
const blank = { displayName: "", labels: {} };
const rules = [{ id: "deny", stage: GuardrailStage.INPUT, action: GuardrailAction.BLOCK, check: { case: "denyList" as const, value: { phrases: ["secret"] } } }];

/** `store` whose next call of `method` (after `arm()`) returns only once released. */
function stalled<S extends object>(store: S, method: keyof S) {
  let stall: { reached: () => void; opened: Promise<void> } | undefined;
  const original = store[method] as (...args: unknown[]) => Promise<unknown>;
  const wrapped = Object.assign(Object.create(store) as S, {
    [method]: async (...args: unknown[]) => {
      const result = await original.apply(store, args);
      const s = stall;
      stall = undefined;
      if (s !== undefined) {
        s.reached();
        await s.opened;
      }
      return result;
    },
  });
  return {
    store: wrapped,
    /** Stalls the next call; `read` resolves once it has its (soon stale) answer. */
    arm(): { read: Promise<void>; release: () => void } {
      let reached!: () => void;
      let release!: () => void;
      const read = new Promise<void>((resolve) => (reached = resolve));
      stall = { reached, opened: new Promise<void>((resolve) => (release = resolve)) };
      return { read, release };
    },
  };
}


function describeEngine(engine: "postgres" | "pglite"): void {
  const database = useMigratedDatabase({ engine });
  const setup = (tenants: Pick<TenantStore, "getOrg" | "getTeam">, keys: Pick<KeyStore, "getKey">) => {
    const policies = createGuardrailPolicyStore(database().db);
    return { policies, guardrails: createGuardrailService({ policies, tenants, keys }) };
  };

  it("CreateGuardrailPolicy: a team deleted between the lookup and the write is InvalidArgument, and nothing is stored", async () => {
    const db = database().db;
    const tenants = createTenantStore(db);
    await tenants.createOrg("team-race", blank);
    await tenants.createTeam("team-race", "app", ALL, blank);
    const teams = stalled(tenants, "getTeam");
    const { policies, guardrails } = setup(teams.store, createKeyStore(db));

    const stall = teams.arm();
    const write = codeOf(
      guardrails.createGuardrailPolicy(
        create(CreateGuardrailPolicyRequestSchema, { parent: "", policyId: "team-race", policy: { enabled: true, attachments: ["orgs/team-race/teams/app"], rules } }),
        ctx,
      ),
    );
    await stall.read;
    expect(await tenants.deleteTeam("team-race", "app", ALL, new Date())).toMatchObject({ deleted: { name: "app" } });
    stall.release();

    expect(await write).toBe(Code.InvalidArgument);
    expect(await policies.get(null, "team-race")).toBeUndefined();
  });

  it("UpdateGuardrailPolicy: an org deleted between the lookup and the write is InvalidArgument, and the attachments stay", async () => {
    const db = database().db;
    const tenants = createTenantStore(db);
    await tenants.createOrg("org-race", blank);
    const orgs = stalled(tenants, "getOrg");
    const { policies, guardrails } = setup(orgs.store, createKeyStore(db));
    await guardrails.createGuardrailPolicy(create(CreateGuardrailPolicyRequestSchema, { parent: "", policyId: "org-race", policy: { enabled: true, rules } }), ctx);

    const stall = orgs.arm();
    const write = codeOf(
      guardrails.updateGuardrailPolicy(
        create(UpdateGuardrailPolicyRequestSchema, { policy: { name: "guardrail-policies/org-race", attachments: ["orgs/org-race"] }, updateMask: { paths: ["attachments"] } }),
        ctx,
      ),
    );
    await stall.read;
    expect(await tenants.deleteOrg("org-race", ALL)).toMatchObject({ deleted: { name: "org-race" } });
    stall.release();

    expect(await write).toBe(Code.InvalidArgument);
    expect((await policies.get(null, "org-race"))?.attachments).toEqual([]);
  });

  it("CreateGuardrailPolicy: a key whose team is deleted between the lookup and the write is InvalidArgument", async () => {
    const db = database().db;
    const tenants = createTenantStore(db);
    const keyStore = createKeyStore(db);
    await tenants.createOrg("key-race", blank);
    await tenants.createTeam("key-race", "app", ALL, blank);
    const fields = { displayName: "", scopes: [], allowedRoutes: [], allowedModels: [], tags: {}, expiresAt: null };
    await keyStore.createKey({ orgName: "key-race", teamName: "app" }, "k", ALL, fields, { secretHmac: randomBytes(32).toString("hex"), displayPrefix: "sb_live_test" });
    await keyStore.revokeKey({ orgName: "key-race", teamName: "app", name: "k" }, ALL, new Date());
    const keys = stalled(keyStore, "getKey");
    const { policies, guardrails } = setup(tenants, keys.store);

    const stall = keys.arm();
    const write = codeOf(
      guardrails.createGuardrailPolicy(
        create(CreateGuardrailPolicyRequestSchema, { parent: "", policyId: "key-race", policy: { attachments: ["orgs/key-race/teams/app/keys/k"], rules } }),
        ctx,
      ),
    );
    await stall.read;
    expect(await tenants.deleteTeam("key-race", "app", ALL, new Date())).toMatchObject({ deleted: { name: "app" } });
    stall.release();

    expect(await write).toBe(Code.InvalidArgument);
    expect(await policies.get(null, "key-race")).toBeUndefined();
  });
}

describe("guardrail attachment racing a delete (postgres)", () => describeEngine("postgres"));
describe("guardrail attachment racing a delete (pglite)", () => describeEngine("pglite"));
