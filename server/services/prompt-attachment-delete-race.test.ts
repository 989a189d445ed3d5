/**
 * A prompt template attachment racing the delete of what it names. CreatePromptTemplate and
 * UpdatePromptTemplate check that each attachment exists before writing; DeleteTeam and DeleteOrg
 * refuse while a live template is attached. A delete that lands between the check and the write
 * must not leave a template attached to a name nothing holds — it would govern whatever tenant is
 * given the name next: the write is refused as if the check had missed.
 */
import { randomBytes } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { Code, createContextValues, type HandlerContext } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { Verb } from "../../gen/ts/switchboard/v1/common_pb.js";
import { Scope } from "../../gen/ts/switchboard/v1/options_pb.js";
import { CreatePromptTemplateRequestSchema, UpdatePromptTemplateRequestSchema } from "../../gen/ts/switchboard/v1/prompt_service_pb.js";
import { codeOf } from "../../test/support/code-of.js";
import { useMigratedDatabase } from "../../test/support/migrated-database.js";
import { testPrincipal } from "../../test/support/principal.js";
import { kPrincipal } from "../interceptors/context-keys.js";
import { createKeyStore } from "../store/key-store.js";
import type { OrgScope } from "../store/paging.js";
import { createPromptStore, type PromptStore } from "../store/prompt-store.js";
import { createRouteStore } from "../store/route-store.js";
import { createTenantStore } from "../store/tenant-store.js";
import { createPromptService } from "./prompt-service.js";

const admin = testPrincipal({ scopes: new Set([Scope.PLATFORM_ADMIN]) });
const ctx = { values: createContextValues().set(kPrincipal, admin) } as unknown as HandlerContext;
const ALL: OrgScope = { allOrgs: true };
const blank = { displayName: "", labels: {} };
const firstVersion = { messages: [{ role: Role.SYSTEM, template: "Be brief." }] };

function describeEngine(engine: "postgres" | "pglite"): void {
  const database = useMigratedDatabase({ engine });

  /**
   * The service over a store whose next `attachedTo` (the check's last read, after every
   * attachment was found) returns only once released; `read` resolves when it has.
   */
  function setup() {
    const db = database().db;
    const store = createPromptStore(db);
    let stall: { reached: () => void; opened: Promise<void> } | undefined;
    const stalled = Object.assign(Object.create(store) as PromptStore, {
      attachedTo: async (...args: Parameters<PromptStore["attachedTo"]>) => {
        const taken = await store.attachedTo(...args);
        const s = stall;
        stall = undefined;
        if (s !== undefined) {
          s.reached();
          await s.opened;
        }
        return taken;
      },
    });
    const tenants = createTenantStore(db);
    const keys = createKeyStore(db);
    const prompts = createPromptService({ tenants, keys, routes: createRouteStore(db), prompts: stalled, refresh: async () => undefined });
    const arm = () => {
      let reached!: () => void;
      let release!: () => void;
      const read = new Promise<void>((resolve) => (reached = resolve));
      stall = { reached, opened: new Promise<void>((resolve) => (release = resolve)) };
      return { read, release };
    };
    return { store, tenants, keys, prompts, arm };
  }

  it("CreatePromptTemplate: a team deleted between the check and the write is InvalidArgument, and nothing is stored", async () => {
    const { store, tenants, prompts, arm } = setup();
    await tenants.createOrg("team-race", blank);
    await tenants.createTeam("team-race", "app", ALL, blank);

    const stall = arm();
    const write = codeOf(
      prompts.createPromptTemplate(
        create(CreatePromptTemplateRequestSchema, { parent: "", promptId: "team-race", template: { verb: Verb.CHAT, attachments: ["orgs/team-race/teams/app"] }, firstVersion }),
        ctx,
      ),
    );
    await stall.read;
    expect(await tenants.deleteTeam("team-race", "app", ALL, new Date())).toMatchObject({ deleted: { name: "app" } });
    stall.release();

    expect(await write).toBe(Code.InvalidArgument);
    expect(await store.getTemplate(null, "team-race")).toBeUndefined();
  });

  it("UpdatePromptTemplate: an org deleted between the check and the write is InvalidArgument, and the attachments stay", async () => {
    const { store, tenants, prompts, arm } = setup();
    await tenants.createOrg("org-race", blank);
    await prompts.createPromptTemplate(create(CreatePromptTemplateRequestSchema, { parent: "", promptId: "org-race", template: { verb: Verb.CHAT }, firstVersion }), ctx);

    const stall = arm();
    const write = codeOf(
      prompts.updatePromptTemplate(
        create(UpdatePromptTemplateRequestSchema, { template: { name: "prompts/org-race", verb: Verb.CHAT, attachments: ["orgs/org-race"] }, updateMask: { paths: ["attachments"] } }),
        ctx,
      ),
    );
    await stall.read;
    expect(await tenants.deleteOrg("org-race", ALL)).toMatchObject({ deleted: { name: "org-race" } });
    stall.release();

    expect(await write).toBe(Code.InvalidArgument);
    expect((await store.getTemplate(null, "org-race"))?.attachments).toEqual([]);
  });

  it("CreatePromptTemplate: a key whose team is deleted between the check and the write is InvalidArgument", async () => {
    const { store, tenants, keys, prompts, arm } = setup();
    await tenants.createOrg("key-race", blank);
    await tenants.createTeam("key-race", "app", ALL, blank);
    const fields = { displayName: "", scopes: [], allowedRoutes: [], allowedModels: [], tags: {}, expiresAt: null };
    await keys.createKey({ orgName: "key-race", teamName: "app" }, "k", ALL, fields, { secretHmac: randomBytes(32).toString("hex"), displayPrefix: "sb_live_test" });
    await keys.revokeKey({ orgName: "key-race", teamName: "app", name: "k" }, ALL, new Date());

    const stall = arm();
    const write = codeOf(
      prompts.createPromptTemplate(
        create(CreatePromptTemplateRequestSchema, { parent: "", promptId: "key-race", template: { verb: Verb.CHAT, attachments: ["orgs/key-race/teams/app/keys/k"] }, firstVersion }),
        ctx,
      ),
    );
    await stall.read;
    expect(await tenants.deleteTeam("key-race", "app", ALL, new Date())).toMatchObject({ deleted: { name: "app" } });
    stall.release();

    expect(await write).toBe(Code.InvalidArgument);
    expect(await store.getTemplate(null, "key-race")).toBeUndefined();
  });
}

describe("prompt attachment racing a delete (postgres)", () => describeEngine("postgres"));
describe("prompt attachment racing a delete (pglite)", () => describeEngine("pglite"));
