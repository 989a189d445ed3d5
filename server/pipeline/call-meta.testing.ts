import type { CallMeta } from "./model-call.js";

/**
 * A chat call's metadata for tests: route `r`, request `req-1`, caller `org_a`/`team_a`/`key_a`,
 * a 10 s deadline, no tags, the default cache mode; `over` replaces any of it.
 */
export function testCallMeta(over: Partial<CallMeta> = {}): CallMeta {
  return {
    verb: "chat",
    route: "r",
    requestId: "req-1",
    signal: new AbortController().signal,
    deadline: Date.now() + 10_000,
    tags: {},
    cache: { mode: "default" },
    caller: { orgId: "org_a", teamId: "team_a", keyId: "key_a" },
    ...over,
  };
}
