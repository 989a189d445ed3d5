import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { Route_Strategy, RouteSchema } from "../../gen/ts/switchboard/v1/route_service_pb.js";
import { routeInputFromSpec, validateRoute, type ProviderCatalog } from "./route-spec.js";
import { withDefaults } from "./route-types.js";

const catalog: ProviderCatalog = { kinds: ["openai", "anthropic", "sandbox"], needsCredential: (k) => k !== "sandbox", settings: () => [], params: () => [] };

describe("validateRoute", () => {
  it("names the exact field of each problem, with a did-you-mean for provider typos", () => {
    const route = create(RouteSchema, {
      targets: [
        { provider: "opnai", model: "gpt-4o", credential: "credentials/openai" },
        { provider: "anthropic", model: "claude" },
        { provider: "sandbox", model: " " },
      ],
      retry: { initialBackoff: { seconds: 2n }, maxBackoff: { seconds: 1n } },
    });
    expect(validateRoute(route, catalog)).toEqual([
      { path: "targets[0].provider", message: 'unknown provider "opnai" (did you mean "openai"?); known: openai, anthropic, sandbox', ruleId: "route.target.provider.known" },
      { path: "targets[1].credential", message: 'provider "anthropic" needs a credential', ruleId: "route.target.credential.required" },
      { path: "targets[2].model", message: "a target needs a model", ruleId: "route.target.model.required" },
      { path: "retry.initial_backoff", message: "must not exceed retry.max_backoff", ruleId: "route.retry.backoff_order" },
    ]);
  });

  it("accepts a valid route", () => {
    const route = create(RouteSchema, { targets: [{ provider: "sandbox", model: "sandbox-fast" }] });
    expect(validateRoute(route, catalog)).toEqual([]);
  });
});

describe("routeInputFromSpec", () => {
  it("treats proto zero values as defaults and converts durations", () => {
    const route = create(RouteSchema, {
      targets: [
        { provider: "openai", model: "a", weight: 0, priority: 0, firstTokenTimeout: { seconds: 2n } },
        { provider: "anthropic", model: "b", weight: 3, priority: 1, credential: "credentials/x", params: { deployment: "d" } },
      ],
      retry: { maxAttempts: 0, initialBackoff: { nanos: 50_000_000 } },
      hedge: { delay: { nanos: 300_000_000 } },
      timeout: { seconds: 30n },
    });
    const resolved = withDefaults(routeInputFromSpec("fast", route));
    expect(resolved.targets[0]).toMatchObject({ weight: 1, priority: 0, firstTokenTimeoutMs: 2_000, idleTimeoutMs: 60_000 });
    expect(resolved.targets[1]).toMatchObject({ weight: 3, priority: 1, credential: "credentials/x", params: { deployment: "d" } });
    expect(resolved.retry).toMatchObject({ maxAttempts: 2, initialBackoffMs: 50 });
    expect(resolved.hedge).toMatchObject({ delayMs: 300 });
    expect(resolved.timeoutMs).toBe(30_000);
  });

  it("carries the retry throttle knobs, a proto float's ratio rounded to three decimals", () => {
    const base = { targets: [{ provider: "sandbox", model: "m" }] };
    const tuned = create(RouteSchema, { ...base, retry: { throttleMaxTokens: 20, throttleTokenRatio: 0.3 } });
    expect(withDefaults(routeInputFromSpec("a", tuned)).retry).toMatchObject({ throttleMaxTokens: 20, throttleTokenRatio: 0.3 });
    expect(withDefaults(routeInputFromSpec("a", create(RouteSchema, base))).retry).toMatchObject({ throttleMaxTokens: 10, throttleTokenRatio: 0.1 });
  });

  it("carries the refusal fallbacks: context length on unless set false, content filter off unless set true", () => {
    const base = { targets: [{ provider: "sandbox", model: "m" }] };
    expect(withDefaults(routeInputFromSpec("a", create(RouteSchema, base))).retry).toMatchObject({ fallbackOnContextLength: true, fallbackOnContentFilter: false });
    const off = create(RouteSchema, { ...base, retry: { fallbackOnContextLength: false, fallbackOnContentFilter: true } });
    expect(withDefaults(routeInputFromSpec("a", off)).retry).toMatchObject({ fallbackOnContextLength: false, fallbackOnContentFilter: true });
    const on = create(RouteSchema, { ...base, retry: { fallbackOnContextLength: true } });
    expect(withDefaults(routeInputFromSpec("a", on)).retry).toMatchObject({ fallbackOnContextLength: true, fallbackOnContentFilter: false });
  });

  it("carries the cache policy: a TTL turns caching on, the threshold defaults to 0.95", () => {
    const base = { targets: [{ provider: "sandbox", model: "m" }] };
    expect(withDefaults(routeInputFromSpec("a", create(RouteSchema, base))).cache).toBeUndefined();
    expect(withDefaults(routeInputFromSpec("a", create(RouteSchema, { ...base, cache: { semantic: true } }))).cache).toBeUndefined();
    const on = withDefaults(routeInputFromSpec("a", create(RouteSchema, { ...base, cache: { ttl: { seconds: 60n }, semantic: true } })));
    expect(on.cache).toEqual({ ttlMs: 60_000, semantic: true, semanticThreshold: 0.95 });
    const tuned = create(RouteSchema, { ...base, cache: { ttl: { seconds: 5n }, semanticThreshold: 0.9, embeddingRoute: "embed" } });
    expect(withDefaults(routeInputFromSpec("a", tuned)).cache).toEqual({ ttlMs: 5_000, semantic: false, semanticThreshold: 0.9, embeddingRoute: "embed" });
  });

  it("carries the strategy: least busy and latency; unset and weighted are the default, weighted random", () => {
    const base = { targets: [{ provider: "sandbox", model: "m" }] };
    const of = (strategy: Route_Strategy) => withDefaults(routeInputFromSpec("a", create(RouteSchema, { ...base, strategy }))).strategy;
    expect(of(Route_Strategy.LEAST_BUSY)).toBe("least_busy");
    expect(of(Route_Strategy.LATENCY)).toBe("latency");
    expect(of(Route_Strategy.WEIGHTED)).toBeUndefined();
    expect(of(Route_Strategy.UNSPECIFIED)).toBeUndefined();
    expect(routeInputFromSpec("a", create(RouteSchema, { ...base, strategy: Route_Strategy.WEIGHTED })).strategy).toBe("weighted");
  });
});
