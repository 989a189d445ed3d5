import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it, vi } from "vitest";
import type { PromptVersionRecord } from "../../store/prompt-store.js";
import type { CatalogEntry } from "./template-catalog.js";
import { createTemplateResolver, type TemplateRequest } from "./template-resolver.js";

const ACME = "org_acme";
const OTHER = "org_other";

let serial = 0;
function entry(name: string, orgId: string | null, attachments: string[], verb = "summarize", active = 1): CatalogEntry {
  return { id: `prompt_${serial++}`, orgId, name, verb, attachments, active: { name, version: active, messages: [{ role: "user", template: `${name} {{text}}` }] } };
}

function catalogOf(entries: CatalogEntry[]) {
  return {
    byName: (name: string) => entries.find((e) => e.name === name),
    attached: (verb: string, resource: string) => entries.filter((e) => e.verb === verb && e.attachments.includes(resource)),
  };
}

const call = (extra: Partial<TemplateRequest> = {}): TemplateRequest => ({
  verb: "summarize",
  caller: { orgId: ACME, keyName: "orgs/acme/teams/search/keys/web" },
  route: "fast",
  ...extra,
});

const noStore = { versionOf: () => Promise.resolve(undefined) };

describe("template resolver", () => {
  it("uses the built-in when nothing is attached or pinned", async () => {
    expect(await createTemplateResolver({ catalog: catalogOf([]), store: noStore }).resolve(call())).toBeUndefined();
  });

  it("prefers key > team > org > org route > global route", async () => {
    const levels = [
      entry("prompts/on-global-route", null, ["routes/fast"]),
      entry("orgs/acme/prompts/on-route", ACME, ["orgs/acme/routes/fast"]),
      entry("orgs/acme/prompts/on-org", ACME, ["orgs/acme"]),
      entry("orgs/acme/prompts/on-team", ACME, ["orgs/acme/teams/search"]),
      entry("orgs/acme/prompts/on-key", ACME, ["orgs/acme/teams/search/keys/web"]),
    ];
    // Remove the most specific one at a time: the next level takes over.
    for (let i = levels.length; i > 0; i--) {
      const resolver = createTemplateResolver({ catalog: catalogOf(levels.slice(0, i)), store: noStore });
      expect((await resolver.resolve(call()))?.name).toBe(levels[i - 1]!.name);
    }
  });

  it("on one level prefers the org's own template over a global one, and ignores other verbs", async () => {
    const resolver = createTemplateResolver({
      catalog: catalogOf([
        entry("prompts/global-team", null, ["orgs/acme/teams/search"]),
        entry("orgs/acme/prompts/own-team", ACME, ["orgs/acme/teams/search"]),
        entry("orgs/acme/prompts/classify-key", ACME, ["orgs/acme/teams/search/keys/web"], "classify"),
      ]),
      store: noStore,
    });
    expect((await resolver.resolve(call()))?.name).toBe("orgs/acme/prompts/own-team");
    expect((await resolver.resolve(call({ verb: "classify" })))?.name).toBe("orgs/acme/prompts/classify-key");
  });

  it("never uses another org's template, attached or pinned", async () => {
    const resolver = createTemplateResolver({
      catalog: catalogOf([entry("orgs/other/prompts/route", OTHER, ["routes/fast"]), entry("orgs/other/prompts/p", OTHER, [])]),
      store: noStore,
    });
    expect(await resolver.resolve(call())).toBeUndefined();
    const err = await resolver.resolve(call({ pinned: { name: "orgs/other/prompts/p", version: 0 } })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.NotFound);
    expect((err as ConnectError).rawMessage).toBe("prompt template orgs/other/prompts/p not found");
  });

  it("lets a pin win over attachments: the active version for 0, else the pinned one, read once", async () => {
    const old: PromptVersionRecord = { templateId: "", version: 2, messages: [{ role: "user", template: "old {{text}}" }], variables: ["text"], description: "", creator: "", createdAt: new Date() };
    const versionOf = vi.fn((_id: string, v: number) => Promise.resolve(v === 2 ? old : undefined));
    const pinnedEntry = entry("prompts/house", null, [], "summarize", 5);
    const resolver = createTemplateResolver({ catalog: catalogOf([pinnedEntry, entry("orgs/acme/prompts/k", ACME, ["orgs/acme/teams/search/keys/web"])]), store: { versionOf } });
    expect(await resolver.resolve(call({ pinned: { name: "prompts/house", version: 0 } }))).toBe(pinnedEntry.active);
    expect(await resolver.resolve(call({ pinned: { name: "prompts/house", version: 5 } }))).toBe(pinnedEntry.active);
    const two = await resolver.resolve(call({ pinned: { name: "prompts/house", version: 2 } }));
    expect(two).toEqual({ name: "prompts/house", version: 2, messages: [{ role: "user", template: "old {{text}}" }] });
    await resolver.resolve(call({ pinned: { name: "prompts/house", version: 2 } }));
    expect(versionOf).toHaveBeenCalledTimes(1);
    const missing = await resolver.resolve(call({ pinned: { name: "prompts/house", version: 7 } })).then(() => undefined, (e: unknown) => ConnectError.from(e));
    expect([missing?.code, missing?.rawMessage]).toEqual([Code.NotFound, "prompt template prompts/house has no version 7"]);
  });

  it("refuses a pinned template written for another verb", async () => {
    const resolver = createTemplateResolver({ catalog: catalogOf([entry("prompts/c", null, [], "classify")]), store: noStore });
    const err = await resolver.resolve(call({ pinned: { name: "prompts/c", version: 0 } })).then(() => undefined, (e: unknown) => ConnectError.from(e));
    expect(err?.code).toBe(Code.InvalidArgument);
    expect(err?.rawMessage).toContain("prompts/c is a classify template and cannot render summarize");
  });
});
