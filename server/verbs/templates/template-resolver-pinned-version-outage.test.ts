/**
 * P8: a pinned older template version not yet in this replica's cache cannot be read while
 * Postgres is unreachable. The caller must be told to retry (Unavailable, 503 on the OpenAI
 * surface) — not get the database's raw error, which both surfaces answer as Internal / 500
 * "internal error" and log as an unhandled bug — and the pin works again once Postgres is back.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import type { PromptVersionRecord } from "../../store/prompt-store.js";
import type { CatalogEntry } from "./template-catalog.js";
import { createTemplateResolver } from "./template-resolver.js";

const ACME = "org_acme";

const entry: CatalogEntry = {
  id: "prompt_1",
  orgId: ACME,
  name: "orgs/acme/prompts/brief",
  verb: "summarize",
  attachments: [],
  active: { name: "orgs/acme/prompts/brief", version: 3, messages: [{ role: "user", template: "v3 {{text}}" }] },
};
const catalog = { byName: (name: string) => (name === entry.name ? entry : undefined), attached: () => [] };

describe("template resolver: a pinned version while the database is unreachable", () => {
  it("answers Unavailable, then the version once the database is back", async () => {
    let down = true;
    const store = {
      versionOf: async (templateId: string, version: number): Promise<PromptVersionRecord | undefined> => {
        if (down) throw Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" });
        return { templateId, version, messages: [{ role: "user", template: "v1 {{text}}" }], variables: ["text"], description: "", creator: "", createdAt: new Date() };
      },
    };
    const resolver = createTemplateResolver({ catalog, store });
    const request = {
      verb: "summarize" as const,
      caller: { orgId: ACME, keyName: "orgs/acme/teams/web/keys/k" },
      route: "fast",
      pinned: { name: entry.name, version: 1 },
    };
    const failure = await resolver.resolve(request).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(ConnectError);
    expect((failure as ConnectError).code).toBe(Code.Unavailable);

    down = false;
    expect((await resolver.resolve(request))?.messages[0]?.template).toBe("v1 {{text}}");
  });
});
