import { describe, expect, it } from "vitest";
import type { TemplateVersionPair } from "../../store/prompt-store.js";
import { createTemplateCatalog } from "./template-catalog.js";

function pair(name: string, orgName: string | null, version: number, attachments: string[] = []): TemplateVersionPair {
  const at = new Date(0);
  return {
    template: { id: `prompt_${name}`, orgId: orgName && `org_${orgName}`, orgName, name, verb: "summarize", description: "", activeVersion: version, latestVersion: version, attachments, createdAt: at, updatedAt: at },
    version: { templateId: `prompt_${name}`, version, messages: [{ role: "user", template: `v${version} {{text}}` }], variables: ["text"], description: "", creator: "", createdAt: at },
  };
}

function fakeStore(initial: TemplateVersionPair[]) {
  let rows = initial;
  let revision = 0;
  let failing = false;
  let loads = 0;
  // What a reload reads is what was committed when it checked the fingerprint.
  let seenRows = rows;
  return {
    set(next: TemplateVersionPair[]) {
      rows = next;
      revision++;
    },
    fail(on: boolean) {
      failing = on;
    },
    loads: () => loads,
    fingerprint: () => {
      seenRows = rows;
      return failing ? Promise.reject(new Error("db down")) : Promise.resolve(String(revision));
    },
    loadActive: () => {
      loads++;
      return Promise.resolve(seenRows);
    },
  };
}

describe("template catalog", () => {
  it("indexes live templates by resource name and by verb and attachment", async () => {
    const store = fakeStore([pair("tone", "acme", 2, ["orgs/acme", "routes/fast"]), pair("house", null, 1)]);
    const catalog = createTemplateCatalog({ store, pollMs: 60_000 });
    await catalog.refresh();
    expect(catalog.byName("orgs/acme/prompts/tone")?.active).toEqual({ name: "orgs/acme/prompts/tone", version: 2, messages: [{ role: "user", template: "v2 {{text}}" }] });
    expect(catalog.byName("prompts/house")?.orgId).toBeNull();
    expect(catalog.attached("summarize", "routes/fast").map((e) => e.name)).toEqual(["orgs/acme/prompts/tone"]);
    expect(catalog.attached("classify", "routes/fast")).toEqual([]);
    catalog.close();
  });

  it("reloads only when the fingerprint moves, and keeps serving through a failing poll", async () => {
    const store = fakeStore([pair("tone", "acme", 1)]);
    const errors: unknown[] = [];
    const catalog = createTemplateCatalog({ store, pollMs: 20, onError: (e) => errors.push(e) });
    await catalog.refresh();
    await catalog.refresh();
    expect(store.loads()).toBe(1);
    store.set([pair("tone", "acme", 3)]);
    await expect.poll(() => catalog.byName("orgs/acme/prompts/tone")?.active.version, { timeout: 2000 }).toBe(3);
    store.fail(true);
    await expect.poll(() => errors.length, { timeout: 2000 }).toBeGreaterThan(0);
    expect(catalog.byName("orgs/acme/prompts/tone")?.active.version).toBe(3);
    catalog.close();
  });

  it("lets a refresh that starts during a reload see writes made before it started", async () => {
    const store = fakeStore([pair("tone", "acme", 1)]);
    const catalog = createTemplateCatalog({ store, pollMs: 60_000 });
    const first = catalog.refresh();
    store.set([pair("tone", "acme", 2)]);
    await Promise.all([first, catalog.refresh()]);
    expect(catalog.byName("orgs/acme/prompts/tone")?.active.version).toBe(2);
    catalog.close();
  });
});
