import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { durationMs } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { Route_Strategy } from "../../gen/ts/switchboard/v1/route_service_pb.js";
import { issuesOf as configIssues } from "./config-issues.testing.js";
import { loadConfig } from "./config.js";

function configFrom(yaml: string) {
  const dir = mkdtempSync(join(tmpdir(), "sb-route-config-"));
  const file = join(dir, "switchboard.yaml");
  writeFileSync(file, yaml);
  return loadConfig({ file });
}

function issuesOf(yaml: string): string[] {
  return configIssues(() => configFrom(yaml));
}

const GOOD = `
routes:
  fast:
    description: cheap first, then a fallback
    targets:
      - provider: azure
        model: gpt-4o-mini
        credential: credentials/azure
        weight: 3
        firstTokenTimeout: 1.5s
        params: { deployment: east }
      - provider: anthropic
        model: claude-haiku-4-5
        credential: credentials/anthropic
        priority: 1
        idleTimeout: 2m
    retry: { maxAttempts: 3, initialBackoff: 50ms, maxBackoff: 1s, fallbackOnContextLength: false, fallbackOnContentFilter: true }
    hedge: { delay: 800ms }
    breaker: { volumeThreshold: 5, resetTimeout: 10s }
    timeout: 30s
    defaultMaxOutputTokens: 512
  local:
    targets: [{ provider: sandbox, model: sandbox-fast }]
`;

describe("config routes", () => {
  it("reads routes with RouteService's knobs and human durations", () => {
    const { routes } = configFrom(GOOD);
    expect(Object.keys(routes)).toEqual(["fast", "local"]);
    const fast = routes.fast!;
    expect(fast.description).toBe("cheap first, then a fallback");
    expect(fast.targets.map((t) => [t.provider, t.model, t.weight, t.priority])).toEqual([
      ["azure", "gpt-4o-mini", 3, 0],
      ["anthropic", "claude-haiku-4-5", 0, 1],
    ]);
    expect(durationMs(fast.targets[0]!.firstTokenTimeout!)).toBe(1500);
    expect(durationMs(fast.targets[1]!.idleTimeout!)).toBe(120_000);
    expect(fast.targets[0]!.params).toEqual({ deployment: "east" });
    expect(fast.retry?.maxAttempts).toBe(3);
    expect(durationMs(fast.retry!.initialBackoff!)).toBe(50);
    expect([fast.retry?.fallbackOnContextLength, fast.retry?.fallbackOnContentFilter]).toEqual([false, true]);
    expect(routes.local!.retry?.fallbackOnContextLength).toBeUndefined();
    expect(durationMs(fast.hedge!.delay!)).toBe(800);
    expect(durationMs(fast.timeout!)).toBe(30_000);
    expect(fast.defaultMaxOutputTokens).toBe(512);
  });

  it("names the exact path of an unknown provider, with a did-you-mean", () => {
    const issues = issuesOf(`
routes:
  fast:
    targets:
      - { provider: openai, model: a, credential: credentials/openai }
      - { provider: opnai, model: b, credential: credentials/openai }
`);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatch(/^routes\.fast\.targets\[1\]\.provider: unknown provider "opnai" \(did you mean "openai"\?\)/);
  });

  it("names unknown keys, bad types, bad durations and schema rules at their paths", () => {
    const issues = issuesOf(`
routes:
  fast:
    targets:
      - { provider: openai, model: a, credential: credentials/openai, wieght: 2 }
    retry: { maxAttempts: many, initialBackoff: 5 }
  slow:
    targets:
      - { provider: openai, model: a, credential: credentials/openai, weight: 5000 }
      - { provider: openai, model: b, credential: "not a credential" }
    retry: { initialBackoff: 2s, maxBackoff: 1s }
  nocred:
    targets: [{ provider: openai, model: a }]
  empty: {}
  Bad_Alias:
    targets: [{ provider: sandbox, model: a }]
`);
    expect(issues).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^routes\.fast\.targets\[0\]\.wieght: unknown key "wieght" \(did you mean "weight"\?\)/),
        expect.stringMatching(/^routes\.fast\.retry\.maxAttempts: must be a whole number/),
        expect.stringMatching(/^routes\.fast\.retry\.initialBackoff: must be a duration such as 250ms/),
        expect.stringMatching(/^routes\.slow\.targets\[0\]\.weight: .*1000/),
        expect.stringMatching(/^routes\.slow\.targets\[1\]\.credential: /),
        expect.stringMatching(/^routes\.slow\.retry\.initialBackoff: must not exceed retry\.max_backoff/),
        expect.stringMatching(/^routes\.nocred\.targets\[0\]\.credential: provider "openai" needs a credential/),
        expect.stringMatching(/^routes\.empty\.targets: /),
        expect.stringMatching(/^routes\.Bad_Alias: a route alias is/),
      ]),
    );
  });

  it("reads a route's strategy by its name, in any case, with or without the enum's prefix", () => {
    const { routes } = configFrom(`
routes:
  busy:
    strategy: least_busy
    targets: [{ provider: sandbox, model: a }, { provider: sandbox, model: b }]
  quick:
    strategy: STRATEGY_LATENCY
    targets: [{ provider: sandbox, model: a }]
  plain:
    strategy: Weighted
    targets: [{ provider: sandbox, model: a }]
  unset:
    targets: [{ provider: sandbox, model: a }]
`);
    expect(Object.fromEntries(Object.entries(routes).map(([alias, r]) => [alias, r.strategy]))).toEqual({
      busy: Route_Strategy.LEAST_BUSY,
      quick: Route_Strategy.LATENCY,
      plain: Route_Strategy.WEIGHTED,
      unset: Route_Strategy.UNSPECIFIED,
    });
  });

  it("names an unknown strategy with a did-you-mean and the known ones", () => {
    const issues = issuesOf(`
routes:
  fast:
    strategy: least_bussy
    targets: [{ provider: sandbox, model: a }]
  slow:
    strategy: 2
    targets: [{ provider: sandbox, model: a }]
`);
    expect(issues).toEqual([
      'routes.fast.strategy: unknown value "least_bussy" (did you mean "least_busy"?); known: weighted, least_busy, latency',
      "routes.slow.strategy: must be one of weighted, least_busy, latency, got 2",
    ]);
  });

  it("rejects a routes section that is not a mapping", () => {
    expect(issuesOf("routes: [fast]\n")).toEqual([expect.stringMatching(/^routes: must be a mapping of route alias to route/)]);
  });

  it("defaults to no routes", () => {
    expect(loadConfig().routes).toEqual({});
  });
});
