import { describe, expect, it } from "vitest";
import { route } from "../../dispatch/testing/harness.js";
import { routeCapabilities } from "./route-capabilities.js";

const caps = (jsonSchema: boolean) => ({ streaming: true, tools: true, parallelToolCalls: true, jsonSchema, jsonObject: true, embeddings: true, vision: true });
const registry: Record<string, ReturnType<typeof caps>> = { strict: caps(true), loose: caps(false) };
const of = (kind: string) => registry[kind];

describe("routeCapabilities", () => {
  it("takes the smallest declared context window over the route's targets, fallbacks included", () => {
    const r = route([
      { provider: "strict", model: "big", contextWindowTokens: 128_000 },
      { provider: "strict", model: "plain" },
      { provider: "strict", model: "small", priority: 1, contextWindowTokens: 4_096 },
    ]);
    expect(routeCapabilities(r, of)).toEqual({ jsonSchema: true, contextTokens: 4_096 });
  });

  it("leaves the window to the verb's default when no target declares one", () => {
    expect(routeCapabilities(route([{ provider: "strict", model: "m" }]), of)).toEqual({ jsonSchema: true });
  });

  it("claims native JSON Schema only when every target's provider enforces it", () => {
    const r = route([
      { provider: "strict", model: "a", contextWindowTokens: 9_000 },
      { provider: "loose", model: "b", priority: 1 },
    ]);
    expect(routeCapabilities(r, of)).toEqual({ jsonSchema: false, contextTokens: 9_000 });
    expect(routeCapabilities(route([{ provider: "unknown", model: "x" }]), of).jsonSchema).toBe(false);
  });
});
