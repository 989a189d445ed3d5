/**
 * PromptService promises that no two templates of one scope and verb are attached to the same
 * resource ("so which template a call renders is never a tie"): the second attach is
 * FailedPrecondition. The service's check reads the other templates' attachments before the
 * write, so it can be stale by the time the write runs; the store re-checks under a lock per
 * scope and verb, in the write's transaction. These tests make the service's check stale on
 * purpose (it returns, then waits while another call attaches the same route) and also race
 * many store writers at once.
 */
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createContextValues, type HandlerContext } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { Verb } from "../../gen/ts/switchboard/v1/common_pb.js";
import { Scope } from "../../gen/ts/switchboard/v1/options_pb.js";
import { CreatePromptTemplateRequestSchema, ListPromptTemplatesRequestSchema, UpdatePromptTemplateRequestSchema } from "../../gen/ts/switchboard/v1/prompt_service_pb.js";
import { useMigratedDatabase } from "../../test/support/migrated-database.js";
import { testPrincipal } from "../../test/support/principal.js";
import { kPrincipal } from "../interceptors/context-keys.js";
import { createKeyStore } from "../store/key-store.js";
import { createPromptStore, type PromptStore } from "../store/prompt-store.js";
import { createRouteStore } from "../store/route-store.js";
import { createTenantStore } from "../store/tenant-store.js";
import { createPromptService } from "./prompt-service.js";

const admin = testPrincipal({ scopes: new Set([Scope.PLATFORM_ADMIN]) });
const ctx = { values: createContextValues().set(kPrincipal, admin) } as unknown as HandlerContext;

/** How a call ended: "ok", or the error's code and message. */
const outcomeOf = (call: unknown) =>
  Promise.resolve(call).then(
    () => "ok",
    (err: unknown) => {
      const e = ConnectError.from(err);
      return `${Code[e.code]}: ${e.rawMessage}`;
    },
  );

function describeEngine(engine: "postgres" | "pglite"): void {
  const database = useMigratedDatabase({ engine, pool: 4 });

  /** The service over a store whose next `attachedTo` returns, then waits for `release`. */
  async function setup(route: string) {
    const db = database().db;
    const store = createPromptStore(db);
    let stall: Promise<void> | undefined;
    let checked!: () => void;
    const firstChecked = new Promise<void>((resolve) => (checked = resolve));
    const stalled = Object.assign(Object.create(store) as PromptStore, {
      attachedTo: async (...args: Parameters<PromptStore["attachedTo"]>) => {
        const taken = await store.attachedTo(...args);
        const s = stall;
        stall = undefined;
        if (s !== undefined) {
          checked();
          await s;
        }
        return taken;
      },
    });
    const routes = createRouteStore(db);
    await routes.create(null, route, { targets: [{ provider: "sandbox", model: "sandbox-fast" }] });
    const prompts = createPromptService({ prompts: stalled, tenants: createTenantStore(db), keys: createKeyStore(db), routes, refresh: async () => {} });
    let release!: () => void;
    const stallNext = () => {
      stall = new Promise<void>((resolve) => (release = resolve));
      return { checked: firstChecked, release: () => release() };
    };
    const holders = async () =>
      ((await prompts.listPromptTemplates(create(ListPromptTemplatesRequestSchema, {}), ctx)).templates ?? [])
        .filter((t) => t.attachments?.includes(`routes/${route}`))
        .map((t) => t.name);
    return { store, prompts, stallNext, holders };
  }

  const createRequest = (id: string, attachments: string[], requestId = "") =>
    create(CreatePromptTemplateRequestSchema, {
      promptId: id,
      requestId,
      template: { verb: Verb.CHAT, attachments },
      firstVersion: { messages: [{ role: Role.SYSTEM, template: id }] },
    });

  it("UpdatePromptTemplate: two templates attached to one route at once, one attach is refused as without the race", async () => {
    const { prompts, stallNext, holders } = await setup("fast");
    for (const id of ["a", "b"]) await prompts.createPromptTemplate(createRequest(id, []), ctx);
    const attach = (id: string) =>
      prompts.updatePromptTemplate(create(UpdatePromptTemplateRequestSchema, { template: { name: `prompts/${id}`, attachments: ["routes/fast"] }, updateMask: { paths: ["attachments"] } }), ctx);

    const { checked, release } = stallNext();
    const a = outcomeOf(attach("a"));
    await checked;
    const b = await outcomeOf(attach("b"));
    release();

    expect({ a: await a, b, holders: await holders() }).toEqual({
      a: "FailedPrecondition: template.attachments: routes/fast already uses prompts/b for chat; detach it there first",
      b: "ok",
      holders: ["prompts/b"],
    });
  });

  it("CreatePromptTemplate: two templates created on one route at once, one is refused; request ids still replay and retry", async () => {
    const { prompts, stallNext, holders } = await setup("slow");
    const { checked, release } = stallNext();
    const c = outcomeOf(prompts.createPromptTemplate(createRequest("c", ["routes/slow"], "req-c"), ctx));
    await checked;
    const d = await outcomeOf(prompts.createPromptTemplate(createRequest("d", ["routes/slow"], "req-d"), ctx));
    release();
    expect({ c: await c, d, holders: await holders() }).toEqual({
      c: "FailedPrecondition: template.attachments: routes/slow already uses prompts/d for chat; detach it there first",
      d: "ok",
      holders: ["prompts/d"],
    });

    // The winner's repeat replays; the refused call's request id was not spent.
    expect(await outcomeOf(prompts.createPromptTemplate(createRequest("d", ["routes/slow"], "req-d"), ctx))).toBe("ok");
    await prompts.updatePromptTemplate(create(UpdatePromptTemplateRequestSchema, { template: { name: "prompts/d", attachments: [] }, updateMask: { paths: ["attachments"] } }), ctx);
    expect(await outcomeOf(prompts.createPromptTemplate(createRequest("c", ["routes/slow"], "req-c"), ctx))).toBe("ok");
    expect(await holders()).toEqual(["prompts/c"]);
  });

  it("the store: many writers attaching one resource at once leave exactly one holder, round after round", async () => {
    const { store } = await setup("busy");
    const names = Array.from({ length: 8 }, (_, i) => `w${i}`);
    const version = { messages: [{ role: "system" as const, template: "x" }], variables: [], description: "", creator: "k" };
    for (const name of names) await store.createTemplate(null, { name, verb: "summarize", description: "", attachments: [] }, version);
    // Several rounds, so the later ones race on a pool whose connections are all open.
    const rounds = [];
    for (const resource of ["routes/busy", "routes/fast", "routes/slow", "routes/busy"]) {
      await Promise.all(names.map((name) => store.updateTemplate(null, name, { attachments: [] })));
      const results = await Promise.all(names.map((name) => store.updateTemplate(null, name, { attachments: [resource] })));
      const held = await store.attachedTo(null, "summarize", [resource]);
      rounds.push({ succeeded: results.filter((r) => r !== undefined && !("kind" in r)).length, held: held.length });
    }
    expect(rounds).toEqual(Array(4).fill({ succeeded: 1, held: 1 }));
  });
}

describe("prompt attachment race (postgres)", () => describeEngine("postgres"));
describe("prompt attachment race (pglite)", () => describeEngine("pglite"));
