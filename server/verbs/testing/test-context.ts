import type { VerbContext } from "../verb-context.js";

/** A `VerbContext` for tests: route `test`, no deadline pressure, no native JSON schema. */
export function testContext(overrides: Partial<VerbContext> = {}): VerbContext {
  return {
    route: "test",
    requestId: "req-1",
    signal: new AbortController().signal,
    deadline: Date.now() + 60_000,
    tags: {},
    cache: { mode: "default" },
    capabilities: { jsonSchema: false },
    ...overrides,
  };
}
