/**
 * A replica's route and template snapshots through a Postgres outage (P8): every failed poll is
 * told to `onError`, the last good snapshot keeps serving — also when the outage strikes between
 * a reload's revision check and its load —, and once Postgres answers again the next polls load
 * every change made meanwhile, deletions included, without a restart. The replica reaches
 * Postgres through a TCP proxy the test closes, freezes or makes vanish.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../test/support/postgres.js";
import { startTcpProxy, type ProxyMode, type TcpProxy } from "../../test/support/tcp-proxy.js";
import { createRouteResolver } from "../dispatch/route-resolver.js";
import { createTemplateCatalog } from "../verbs/templates/template-catalog.js";
import { createDatabase, type DatabaseHandle } from "./database.js";
import { migrateToLatest } from "./migrate.js";
import { createPromptStore } from "./prompt-store.js";
import { createRouteStore } from "./route-store.js";

let pg: TestDatabase;
let writer: DatabaseHandle;
let proxy: TcpProxy;
let replica: DatabaseHandle;
beforeAll(async () => {
  pg = await createTestDatabase();
  writer = await createDatabase({ databaseUrl: pg.url });
  await migrateToLatest(writer.db);
  await writer.db.insertInto("orgs").values({ id: "org_1", name: "acme" }).execute();
  const u = new URL(pg.url);
  proxy = await startTcpProxy({ host: u.hostname, port: Number(u.port) });
  // Short bounds, so a frozen or vanished connection is given up in about 2.5 s.
  replica = await createDatabase({ databaseUrl: proxy.rewrite(pg.url), statementTimeoutMs: 500, connectTimeoutMs: 500 });
});
afterAll(async () => {
  await replica?.close();
  await proxy?.close();
  await writer?.close();
  await pg?.drop();
});

const spec = (provider: string) => ({ targets: [{ provider, model: "m" }] });
const version = (text: string) => ({ messages: [{ role: "system" as const, template: text }], variables: [], description: "", creator: "" });
const template = (name: string) => ({ name, verb: "summarize", description: "", attachments: [] });

describe.each<ProxyMode>(["closed", "blackhole", "vanish"])("a replica's snapshots through a Postgres outage (%s)", (mode) => {
  it("routes: serve the last snapshot while polls fail, then load every change made meanwhile", async () => {
    const routes = createRouteStore(writer.db);
    const alias = (name: string) => `${mode}-${name}`;
    await routes.create(null, alias("kept"), spec("openai"));
    await routes.create("org_1", alias("gone"), spec("openai"));
    const errors: unknown[] = [];
    const resolver = createRouteResolver({ store: createRouteStore(replica.db), pollMs: 50, onError: (e) => errors.push(e) });
    try {
      await resolver.refresh();
      await proxy.setMode(mode);
      const kept = (await routes.get(null, alias("kept")))!;
      await routes.replaceIf(null, alias("kept"), kept.revision, spec("anthropic"));
      await routes.delete("org_1", alias("gone"));
      await routes.create(null, alias("new"), spec("openai"));
      await expect.poll(() => errors.length, { timeout: 5_000 }).toBeGreaterThan(0);
      expect(resolver.resolve(alias("kept"))?.targets[0]?.provider).toBe("openai");
      expect(resolver.resolve(alias("gone"), "org_1")).toBeDefined();
      await proxy.setMode("forward");
      await expect.poll(() => resolver.resolve(alias("kept"))?.targets[0]?.provider, { timeout: 5_000 }).toBe("anthropic");
      expect(resolver.resolve(alias("gone"), "org_1")).toBeUndefined();
      expect(resolver.resolve(alias("new"))).toBeDefined();
    } finally {
      resolver.close();
      await proxy.setMode("forward");
    }
  }, 20_000);

  it("templates: serve the last snapshot while polls fail, then load every change made meanwhile", async () => {
    const prompts = createPromptStore(writer.db);
    const name = (n: string) => `${mode}-${n}`;
    expect((await prompts.createTemplate("org_1", template(name("kept")), version("v1"))).kind).toBe("created");
    expect((await prompts.createTemplate("org_1", template(name("gone")), version("v1"))).kind).toBe("created");
    const errors: unknown[] = [];
    const catalog = createTemplateCatalog({ store: createPromptStore(replica.db), pollMs: 50, onError: (e) => errors.push(e) });
    try {
      await catalog.refresh();
      await proxy.setMode(mode);
      expect((await prompts.createVersion("org_1", name("kept"), version("v2"), true)).kind).toBe("created");
      expect(await prompts.deleteTemplate("org_1", name("gone"))).toBeDefined();
      await expect.poll(() => errors.length, { timeout: 5_000 }).toBeGreaterThan(0);
      expect(catalog.byName(`orgs/acme/prompts/${name("kept")}`)?.active.version).toBe(1);
      expect(catalog.byName(`orgs/acme/prompts/${name("gone")}`)).toBeDefined();
      await proxy.setMode("forward");
      await expect.poll(() => catalog.byName(`orgs/acme/prompts/${name("kept")}`)?.active.version, { timeout: 5_000 }).toBe(2);
      expect(catalog.byName(`orgs/acme/prompts/${name("gone")}`)).toBeUndefined();
    } finally {
      catalog.close();
      await proxy.setMode("forward");
    }
  }, 20_000);
});

describe("an outage between a reload's revision check and its load", () => {
  it("routes: keep the last snapshot, and load the change once Postgres is back", async () => {
    const routes = createRouteStore(writer.db);
    await routes.create(null, "midway", spec("openai"));
    const real = createRouteStore(replica.db);
    let cut = false;
    const errors: unknown[] = [];
    const store = {
      revision: async () => {
        const revision = await real.revision();
        if (cut) await proxy.setMode("closed");
        return revision;
      },
      loadAll: () => real.loadAll(),
    };
    const resolver = createRouteResolver({ store, pollMs: 50, onError: (e) => errors.push(e) });
    try {
      await resolver.refresh();
      const before = (await routes.get(null, "midway"))!;
      await routes.replaceIf(null, "midway", before.revision, spec("anthropic"));
      cut = true;
      await expect.poll(() => errors.length, { timeout: 5_000 }).toBeGreaterThan(0);
      cut = false;
      expect(resolver.resolve("midway")?.targets[0]?.provider).toBe("openai");
      await proxy.setMode("forward");
      await expect.poll(() => resolver.resolve("midway")?.targets[0]?.provider, { timeout: 5_000 }).toBe("anthropic");
    } finally {
      resolver.close();
      await proxy.setMode("forward");
    }
  });

  it("templates: keep the last snapshot, and load the change once Postgres is back", async () => {
    const prompts = createPromptStore(writer.db);
    expect((await prompts.createTemplate("org_1", template("midway"), version("v1"))).kind).toBe("created");
    const real = createPromptStore(replica.db);
    let cut = false;
    const errors: unknown[] = [];
    const store = {
      fingerprint: async () => {
        const fingerprint = await real.fingerprint();
        if (cut) await proxy.setMode("closed");
        return fingerprint;
      },
      loadActive: () => real.loadActive(),
    };
    const catalog = createTemplateCatalog({ store, pollMs: 50, onError: (e) => errors.push(e) });
    try {
      await catalog.refresh();
      expect((await prompts.createVersion("org_1", "midway", version("v2"), true)).kind).toBe("created");
      cut = true;
      await expect.poll(() => errors.length, { timeout: 5_000 }).toBeGreaterThan(0);
      cut = false;
      expect(catalog.byName("orgs/acme/prompts/midway")?.active.version).toBe(1);
      await proxy.setMode("forward");
      await expect.poll(() => catalog.byName("orgs/acme/prompts/midway")?.active.version, { timeout: 5_000 }).toBe(2);
    } finally {
      catalog.close();
      await proxy.setMode("forward");
    }
  });
});
