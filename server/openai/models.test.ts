import { describe, expect, it } from "vitest";
import type { Principal } from "../auth/principal.js";
import type { RouteRecord } from "../store/route-store.js";
import { createRouteLister, modelListOf } from "./models.js";

const route = (orgId: string | null, alias: string, createdAtMs: number): RouteRecord => ({
  id: `${orgId ?? "global"}-${alias}`,
  orgId,
  orgName: orgId === null ? null : `name-${orgId}`,
  alias,
  spec: {},
  revision: 1n,
  createdAt: new Date(createdAtMs),
  updatedAt: new Date(createdAtMs),
});

/** A route store listing `routes` two at a time, as its pages do. */
function pagedStore(routes: RouteRecord[]) {
  return {
    async list(orgId: string | null, page: { limit: number; after?: string }) {
      const mine = routes.filter((r) => r.orgId === orgId).sort((a, b) => a.id.localeCompare(b.id));
      const start = page.after === undefined ? 0 : mine.findIndex((r) => r.id === page.after) + 1;
      const items = mine.slice(start, start + 2);
      return { items, ...(start + 2 < mine.length ? { after: items.at(-1)!.id } : {}) };
    },
  };
}

const principal = (allowedRoutes: string[]) => ({ allowedRoutes }) as unknown as Principal;

describe("the models list", () => {
  it("lists every page of the org's and the global routes, sorted, an org route hiding a global one of its alias", async () => {
    const list = createRouteLister(
      pagedStore([route(null, "shared", 1_000), route(null, "zeta", 2_000), route(null, "alpha", 3_000), route("org_a", "shared", 9_000), route("org_a", "mine", 4_000), route("org_b", "theirs", 5_000)]),
    );
    const routes = await list("org_a");
    expect(routes).toEqual([
      { alias: "alpha", createdAt: new Date(3_000), orgName: null },
      { alias: "mine", createdAt: new Date(4_000), orgName: "name-org_a" },
      { alias: "shared", createdAt: new Date(9_000), orgName: "name-org_a" },
      { alias: "zeta", createdAt: new Date(2_000), orgName: null },
    ]);
    expect(modelListOf(routes, principal([]))).toEqual({
      object: "list",
      data: [
        { id: "alpha", object: "model", created: 3, owned_by: "switchboard", type: "model", display_name: "alpha", created_at: "1970-01-01T00:00:03.000Z" },
        { id: "mine", object: "model", created: 4, owned_by: "name-org_a", type: "model", display_name: "mine", created_at: "1970-01-01T00:00:04.000Z" },
        { id: "shared", object: "model", created: 9, owned_by: "name-org_a", type: "model", display_name: "shared", created_at: "1970-01-01T00:00:09.000Z" },
        { id: "zeta", object: "model", created: 2, owned_by: "switchboard", type: "model", display_name: "zeta", created_at: "1970-01-01T00:00:02.000Z" },
      ],
      has_more: false,
      first_id: "alpha",
      last_id: "zeta",
    });
  });

  it("shows a key with an allow-list only the routes it may use", () => {
    const routes = [
      { alias: "a", createdAt: new Date(0), orgName: null },
      { alias: "b", createdAt: new Date(0), orgName: null },
    ];
    expect((modelListOf(routes, principal(["b"])).data as { id: string }[]).map((m) => m.id)).toEqual(["b"]);
  });
});
