import { describe, expect, it } from "vitest";
import { ConfigError } from "./config-error.js";
import { loadConfig } from "./config.js";

describe("the Redis circuit breaker's settings", () => {
  it("default to 5 consecutive failures and a 1 s cool-down", () => {
    expect(loadConfig().redis).toMatchObject({ breakerFailures: 5, breakerCoolDownMs: 1000 });
  });

  it("are read from the environment", () => {
    const config = loadConfig({ env: { SWITCHBOARD_REDIS_BREAKER_FAILURES: "8", SWITCHBOARD_REDIS_BREAKER_COOLDOWN_MS: "2500" } });
    expect(config.redis).toMatchObject({ breakerFailures: 8, breakerCoolDownMs: 2500 });
  });

  it("refuse a breaker that could never close or never open, naming the path", () => {
    let issues: string[] = [];
    try {
      loadConfig({ env: { SWITCHBOARD_REDIS_BREAKER_FAILURES: "0", SWITCHBOARD_REDIS_BREAKER_COOLDOWN_MS: "-1" } });
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      issues = (err as ConfigError).issues.map((i) => i.path);
    }
    expect(issues.sort()).toEqual(["redis.breakerCoolDownMs", "redis.breakerFailures"]);
  });
});
