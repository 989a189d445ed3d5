import { describe, expect, it } from "vitest";
import type { BreakerState, BreakerTarget } from "../dispatch/breaker.js";
import { withDefaults } from "../dispatch/route-types.js";
import { providersProbe } from "./dependency-probes.js";

const route = (alias: string, model: string) => withDefaults({ alias, targets: [{ provider: "openai", model }] });

describe("providers probe", () => {
  it("is degraded while a route has every target's circuit open; names gateway routes, only counts orgs' (/readyz is public)", async () => {
    const open = new Set<string>();
    const breakers = { peek: (t: BreakerTarget): BreakerState | undefined => (open.has(t.model) ? "open" : "closed") };
    const routes = [
      { route: route("default", "m-default") },
      { route: route("fast", "m-fast") },
      { orgId: "org_7f3a", route: route("acme-secret-project", "m-acme") },
      { orgId: "org_9c1b", route: route("globex-launch", "m-globex") },
    ];
    const probe = providersProbe({ routes: { list: () => routes }, breakers });
    expect(await probe.check()).toBeUndefined();
    open.add("m-default");
    expect(await probe.check()).toBe("every target's circuit is open on route default");
    open.add("m-acme");
    open.add("m-globex");
    const reason = await probe.check();
    expect(reason).toBe("every target's circuit is open on routes default and 2 routes of orgs");
    expect(reason).not.toMatch(/acme|globex|org_/);
    open.delete("m-default");
    open.add("m-fast");
    expect(await probe.check()).toBe("every target's circuit is open on routes fast and 2 routes of orgs");
  });
});
