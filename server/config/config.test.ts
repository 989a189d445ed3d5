import { randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError } from "./config-error.js";
import { issuesOf } from "./config-issues.testing.js";
import { generateSecret } from "../auth/key-format.js";
import { defaultConfig, loadConfig } from "./config.js";
import { baseUrlsFromEnv, credentialsFromEnv } from "./provider-env.js";

function writeYaml(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), "sb-config-"));
  const file = join(dir, "switchboard.yaml");
  writeFileSync(file, text);
  return file;
}

describe("loadConfig", () => {
  it("gives the embedded defaults with no file and no environment", () => {
    expect(loadConfig()).toEqual(defaultConfig());
    expect(loadConfig().database.url).toBeUndefined();
  });

  it("layers the file under the environment", () => {
    const file = writeYaml("server:\n  port: 9000\n  host: 0.0.0.0\nlog:\n  level: debug\n");
    const config = loadConfig({ file, env: { SWITCHBOARD_PORT: "9100", REDIS_URL: "redis://127.0.0.1:6390" } });
    expect(config.server.port).toBe(9100);
    expect(config.server.host).toBe("0.0.0.0");
    expect(config.log.level).toBe("debug");
    expect(config.redis.url).toBe("redis://127.0.0.1:6390");
  });

  it("still reports a file section that is not a mapping when the environment sets a key of it", () => {
    const file = writeYaml("server: 5\nlog: [1]\n");
    expect(issuesOf(() => loadConfig({ file, env: { SWITCHBOARD_PORT: "9000", SWITCHBOARD_LOG_LEVEL: "debug" } }))).toEqual([
      "server: must be a mapping",
      "log: must be a mapping",
    ]);
  });

  it("ignores empty environment values", () => {
    expect(loadConfig({ env: { SWITCHBOARD_PORT: "" } }).server.port).toBe(8080);
  });

  it("names the exact path and the source of a bad value", () => {
    expect(issuesOf(() => loadConfig({ env: { SWITCHBOARD_PORT: "80a" } }))).toEqual([
      'server.port: must be an integer from 0 to 65535, got "80a" (from SWITCHBOARD_PORT)',
    ]);
    const file = writeYaml("server:\n  port: 70000\n");
    expect(issuesOf(() => loadConfig({ file }))).toEqual(["server.port: must be an integer from 0 to 65535, got 70000"]);
  });

  it("suggests the closest key for a typo and lists every problem at once", () => {
    const file = writeYaml("sever:\n  port: 1\nlog:\n  levl: info\n  level: loud\n");
    const issues = issuesOf(() => loadConfig({ file }));
    expect(issues).toHaveLength(3);
    expect(issues[0]).toMatch(/^sever: unknown key "sever" \(did you mean "server"\?\)/);
    expect(issues[1]).toMatch(/^log\.levl: unknown key "levl" \(did you mean "level"\?\)/);
    expect(issues[2]).toMatch(/^log\.level: must be one of fatal, error, warn, info, debug, trace, silent/);
  });

  it("rejects URLs of the wrong scheme without echoing them", () => {
    const issues = issuesOf(() => loadConfig({ env: { DATABASE_URL: "mysql://user:hunter2@db/x" } }));
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatch(/^database\.url: must be a URL starting with postgres:\/\/ or postgresql:\/\//);
    expect(issues[0]).not.toContain("hunter2");
  });

  it("requires a pepper and a master key with DATABASE_URL, saying how to make them", () => {
    const issues = issuesOf(() => loadConfig({ env: { DATABASE_URL: "postgres://db/switchboard" } }));
    expect(issues).toHaveLength(2);
    expect(issues[0]).toMatch(/^auth\.pepper: required when database\.url is set: .*SWITCHBOARD_KEY_PEPPER.*openssl rand/);
    expect(issues[1]).toMatch(/^vault\.masterKey: required when database\.url is set: .*SWITCHBOARD_MASTER_KEY.*openssl rand -base64 32/);
    const pepper = "p".repeat(32);
    const masterKey = randomBytes(32).toString("base64");
    const config = loadConfig({ env: { DATABASE_URL: "postgres://db/switchboard", SWITCHBOARD_KEY_PEPPER: pepper, SWITCHBOARD_MASTER_KEY: masterKey } });
    expect(config.auth).toEqual({ pepper, cacheTtlMs: 5_000, unknownKeyBurst: 20, unknownKeysPerMinute: 60 });
    expect(config.vault).toEqual({ masterKey });
  });

  it("refuses a malformed, short, weak or repeated master key without echoing it", () => {
    const good = randomBytes(32).toString("base64");
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ SWITCHBOARD_MASTER_KEY: "not base64 at all!" }, /^vault\.masterKey: must be base64 of 32 random bytes .* it is not base64, the value given is not shown \(secret\) \(from SWITCHBOARD_MASTER_KEY\)/],
      [{ SWITCHBOARD_MASTER_KEY: randomBytes(16).toString("base64") }, /^vault\.masterKey: .*decodes to 16 bytes, not 32/],
      [{ SWITCHBOARD_MASTER_KEY: Buffer.alloc(32, 7).toString("base64") }, /^vault\.masterKey: .*is a weak key/],
      [{ SWITCHBOARD_MASTER_KEY_PREVIOUS: good }, /^vault\.previousMasterKey: set only during a rotation/],
      [{ SWITCHBOARD_MASTER_KEY: good, SWITCHBOARD_MASTER_KEY_PREVIOUS: good }, /^vault\.previousMasterKey: is the same key as vault\.masterKey/],
    ];
    for (const [env, expected] of cases) {
      const issues = issuesOf(() => loadConfig({ env }));
      expect(issues, JSON.stringify(env)).toHaveLength(1);
      expect(issues[0]).toMatch(expected);
      for (const value of Object.values(env)) expect(issues[0]).not.toContain(value);
    }
    const rotating = loadConfig({ env: { SWITCHBOARD_MASTER_KEY: good, SWITCHBOARD_MASTER_KEY_PREVIOUS: randomBytes(32).toString("base64url") } });
    expect(rotating.vault.previousMasterKey).toBeDefined();
  });

  it("refuses a short pepper and a malformed bootstrap key without echoing either", () => {
    const shortPepper = "hunter2-pepper-too-short";
    const badKey = "sb_live_not-a-real-key-hunter2";
    const issues = issuesOf(() => loadConfig({ env: { SWITCHBOARD_KEY_PEPPER: shortPepper, SWITCHBOARD_BOOTSTRAP_KEY: badKey } }));
    expect(issues).toEqual([
      expect.stringMatching(/^auth\.pepper: must be a string of at least 32 bytes .*\(from SWITCHBOARD_KEY_PEPPER\)$/),
      expect.stringMatching(/^auth\.bootstrapKey: must be a well-formed Switchboard key .*\(from SWITCHBOARD_BOOTSTRAP_KEY\)$/),
    ]);
    expect(issues.join("\n")).not.toContain("hunter2");
  });

  it("reads the bootstrap key, the auth cache TTL and the unknown-key throttle", () => {
    const key = generateSecret();
    const config = loadConfig({
      env: { SWITCHBOARD_BOOTSTRAP_KEY: key, SWITCHBOARD_AUTH_CACHE_TTL_MS: "1500", SWITCHBOARD_AUTH_UNKNOWN_KEY_BURST: "0", SWITCHBOARD_AUTH_UNKNOWN_KEYS_PER_MINUTE: "600" },
    });
    expect(config.auth).toEqual({ bootstrapKey: key, cacheTtlMs: 1_500, unknownKeyBurst: 0, unknownKeysPerMinute: 600 });
    expect(issuesOf(() => loadConfig({ env: { SWITCHBOARD_AUTH_CACHE_TTL_MS: "600000" } }))[0]).toMatch(
      /^auth\.cacheTtlMs: must be an integer from 0 to 60000/,
    );
    expect(issuesOf(() => loadConfig({ env: { SWITCHBOARD_AUTH_UNKNOWN_KEYS_PER_MINUTE: "0" } }))[0]).toMatch(/^auth\.unknownKeysPerMinute: must be an integer from 1 /);
  });

  it("reads the money knobs: the ledger buffer and budget reservations", () => {
    const config = loadConfig({
      env: {
        SWITCHBOARD_LEDGER_DIR: "/var/lib/switchboard/ledger",
        SWITCHBOARD_LEDGER_FLUSH_INTERVAL_MS: "100",
        SWITCHBOARD_LEDGER_MAX_PENDING_ROWS: "5000",
        SWITCHBOARD_LEDGER_FSYNC: "never",
        SWITCHBOARD_DEFAULT_MAX_OUTPUT_TOKENS: "1024",
        SWITCHBOARD_UNPRICED_MODELS: "allow",
        SWITCHBOARD_LIMITS_POLL_MS: "500",
        SWITCHBOARD_MAX_OUTPUT_TOKENS: "8192",
      },
    });
    expect(config.ledger).toEqual({ dir: "/var/lib/switchboard/ledger", flushIntervalMs: 100, maxPendingRows: 5000, fsync: "never" });
    expect(config.budgets).toEqual({
      defaultMaxOutputTokens: 1024,
      unpricedModels: "allow",
      pollMs: 500,
      maxOutputTokens: 8192,
      holdLeaseTtlMs: 15_000,
      holdLeaseRefreshMs: 4_000,
      holdSweepIntervalMs: 5_000,
    });
    expect(issuesOf(() => loadConfig({ env: { SWITCHBOARD_LEDGER_FSYNC: "sometimes", SWITCHBOARD_UNPRICED_MODELS: "free" } }))).toEqual([
      'ledger.fsync: must be one of always, never, got "sometimes" (from SWITCHBOARD_LEDGER_FSYNC)',
      'budgets.unpricedModels: must be one of refuse, allow, got "free" (from SWITCHBOARD_UNPRICED_MODELS)',
    ]);
  });

  it("reports unreadable files and bad YAML with the file name", () => {
    expect(issuesOf(() => loadConfig({ file: "/nonexistent/switchboard.yaml" }))[0]).toMatch(
      /^\/nonexistent\/switchboard\.yaml: cannot read config file/,
    );
    const file = writeYaml("server: [1, 2\n");
    expect(issuesOf(() => loadConfig({ file }))[0]).toContain(`${file}: invalid YAML`);
    const list = writeYaml("- 1\n- 2\n");
    expect(issuesOf(() => loadConfig({ file: list }))[0]).toBe(`${list}: the file must hold a mapping at the top`);
  });
});

describe("idempotency keys' claim lease", () => {
  it("defaults to 30 s and reads idempotency.leaseMs from the environment, within bounds", () => {
    expect(defaultConfig().idempotency).toEqual({ leaseMs: 30_000 });
    expect(loadConfig({ env: { SWITCHBOARD_IDEMPOTENCY_LEASE_MS: "5000" } }).idempotency).toEqual({ leaseMs: 5_000 });
    expect(issuesOf(() => loadConfig({ env: { SWITCHBOARD_IDEMPOTENCY_LEASE_MS: "100" } }))).toEqual([
      'idempotency.leaseMs: must be an integer from 1000 to 3600000, got "100" (from SWITCHBOARD_IDEMPOTENCY_LEASE_MS)',
    ]);
  });
});

describe("overload knobs", () => {
  it("reads the in-flight caps and retry delay from the environment, 0 meaning no cap", () => {
    expect(defaultConfig().overload).toEqual({ maxInFlight: 1024, maxInFlightPerKey: 256, retryAfterMs: 1000 });
    const config = loadConfig({ env: { SWITCHBOARD_MAX_IN_FLIGHT: "0", SWITCHBOARD_MAX_IN_FLIGHT_PER_KEY: "8", SWITCHBOARD_OVERLOAD_RETRY_AFTER_MS: "250" } });
    expect(config.overload).toEqual({ maxInFlight: 0, maxInFlightPerKey: 8, retryAfterMs: 250 });
    expect(issuesOf(() => loadConfig({ env: { SWITCHBOARD_MAX_IN_FLIGHT_PER_KEY: "-1" } }))).toEqual([
      'overload.maxInFlightPerKey: must be an integer from 0 to 1000000, got "-1" (from SWITCHBOARD_MAX_IN_FLIGHT_PER_KEY)',
    ]);
  });
});

// README "Outbound calls": where admin-set URLs (budget alert webhooks, external guardrails) may be
// called. An allow-list entry that does not parse stops the start: silently dropping it would
// refuse a service the operator meant to allow.
describe("egress policy", () => {
  it("allows private addresses with an empty allow list by default, and reads both from the environment or a file", () => {
    expect(defaultConfig().egress).toEqual({ private: "allow", allow: [] });
    const fromEnv = loadConfig({ env: { SWITCHBOARD_EGRESS_PRIVATE: "deny", SWITCHBOARD_EGRESS_ALLOW: "10.1.0.0/16, guard.internal,*.svc.cluster.local  fd00::/8" } });
    expect(fromEnv.egress).toEqual({ private: "deny", allow: ["10.1.0.0/16", "guard.internal", "*.svc.cluster.local", "fd00::/8"] });
    const file = writeYaml("egress:\n  private: deny\n  allow: [169.254.169.254/32, hooks.internal]\n");
    expect(loadConfig({ file }).egress).toEqual({ private: "deny", allow: ["169.254.169.254/32", "hooks.internal"] });
  });

  it("names each allow-list entry it cannot read, and a private mode that is neither allow nor deny", () => {
    const issues = issuesOf(() => loadConfig({ env: { SWITCHBOARD_EGRESS_ALLOW: "10.0.0.0/8,10.0.0.0/33,http://guard", SWITCHBOARD_EGRESS_PRIVATE: "block" } }));
    expect(issues).toHaveLength(2);
    expect(issues[0]).toBe('egress.private: must be one of allow, deny, got "block" (from SWITCHBOARD_EGRESS_PRIVATE)');
    expect(issues[1]).toMatch(/^egress\.allow: must be a list of IPs, CIDRs .*"10\.0\.0\.0\/33": the prefix length must be from 0 to 32; "http:\/\/guard": not an IP address.*\(from SWITCHBOARD_EGRESS_ALLOW\)$/);
  });
});

// README "Keys and scopes" ("Unknown keys") and "Environment variables": behind a reverse proxy the
// client is what the proxy forwards in X-Forwarded-For, from the proxies listed only. An entry that
// does not parse stops the start: dropping it would leave every client behind that proxy sharing
// its bucket with no word said.
describe("trusted proxies", () => {
  it("trusts none by default, and reads IPs and CIDRs of both families from the environment or a file", () => {
    expect(defaultConfig().server.trustedProxies).toEqual([]);
    expect(loadConfig({ env: { SWITCHBOARD_TRUSTED_PROXIES: "10.0.0.0/8, 192.0.2.7,fd00::/8  ::1" } }).server.trustedProxies).toEqual(["10.0.0.0/8", "192.0.2.7", "fd00::/8", "::1"]);
    const file = writeYaml("server:\n  trustedProxies: [172.16.0.0/12, 2001:db8::/32]\n");
    expect(loadConfig({ file }).server.trustedProxies).toEqual(["172.16.0.0/12", "2001:db8::/32"]);
  });

  it("names each entry it cannot read and the variable it came from", () => {
    const issues = issuesOf(() => loadConfig({ env: { SWITCHBOARD_TRUSTED_PROXIES: "10.0.0.0/8,10.0.0.0/33,proxy.internal,fd00::/129,300.1.1.1" } }));
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatch(
      /^server\.trustedProxies: must be a list of IPs and CIDRs .*"10\.0\.0\.0\/33": the prefix length must be from 0 to 32; "proxy\.internal": a host name.*; "fd00::\/129": the prefix length must be from 0 to 128; "300\.1\.1\.1": not an IP address or a CIDR.*\(from SWITCHBOARD_TRUSTED_PROXIES\)$/,
    );
    expect(loadConfig({ file: writeYaml("server:\n  trustedProxies: 10.0.0.0/8, 10.1.0.0/16\n") }).server.trustedProxies).toEqual(["10.0.0.0/8", "10.1.0.0/16"]);
    expect(issuesOf(() => loadConfig({ file: writeYaml("server:\n  trustedProxies: [5]\n") }))[0]).toMatch(/^server\.trustedProxies: must be a list of IPs and CIDRs/);
  });
});

describe("heap growth", () => {
  it("leaves V8's own choice by default and reads a percent up to 300 from the environment", () => {
    expect(defaultConfig().server.heapGrowthPercent).toBe(0);
    expect(loadConfig({ env: { SWITCHBOARD_HEAP_GROWTH_PERCENT: "100" } }).server.heapGrowthPercent).toBe(100);
    expect(issuesOf(() => loadConfig({ env: { SWITCHBOARD_HEAP_GROWTH_PERCENT: "400" } }))).toEqual([
      'server.heapGrowthPercent: must be an integer from 0 to 300, got "400" (from SWITCHBOARD_HEAP_GROWTH_PERCENT)',
    ]);
  });
});

// README "Environment variables": `SWITCHBOARD_BASE_URL_<KIND>` points a provider kind elsewhere and
// `SWITCHBOARD_CREDENTIAL_<ID>` is credential `credentials/<id>`. A variable the gateway would not
// use (a misspelt kind, a lower-case name) is a start-up error, not silently ignored: calls would
// go to the vendor's public endpoint instead of the proxy meant, or run on the sandbox.
describe("provider endpoints and credentials from the environment", () => {
  it("refuses a base URL of an unknown kind, or one that is not an http(s) URL, naming the variable", () => {
    const issues = issuesOf(() =>
      loadConfig({
        env: {
          SWITCHBOARD_BASE_URL_OPNEAI: "http://proxy:8080/v1",
          SWITCHBOARD_BASE_URL_OPENAI: "localhost:8000/v1",
          SWITCHBOARD_BASE_URL_vllm: "http://vllm:8000/v1",
          SWITCHBOARD_BASE_URL_SANDBOX: "http://127.0.0.1:1/v1",
        },
      }),
    );
    expect(issues).toEqual([
      expect.stringMatching(/^SWITCHBOARD_BASE_URL_OPNEAI: unknown provider kind "opneai" \(did you mean "openai"\?\); known: openai, anthropic, /),
      "SWITCHBOARD_BASE_URL_OPENAI: must be a URL starting with http:// or https://, got a value that is not a valid URL",
      expect.stringMatching(/^SWITCHBOARD_BASE_URL_vllm: the kind must be written in upper case \(SWITCHBOARD_BASE_URL_VLLM\)/),
      expect.stringMatching(/^SWITCHBOARD_BASE_URL_SANDBOX: the sandbox runs inside the gateway/),
    ]);
  });

  it("refuses a credential variable whose name is no credential id, without echoing its value", () => {
    const issues = issuesOf(() => loadConfig({ env: { SWITCHBOARD_CREDENTIAL_openai: "sk-hunter2", SWITCHBOARD_CREDENTIAL__X: "sk-hunter2" } }));
    expect(issues).toEqual([
      expect.stringMatching(/^SWITCHBOARD_CREDENTIAL_openai: .*upper case.*\(SWITCHBOARD_CREDENTIAL_OPENAI\)/),
      expect.stringMatching(/^SWITCHBOARD_CREDENTIAL__X: "-x" is not a credential id/),
    ]);
    expect(issues.join("\n")).not.toContain("hunter2");
  });

  it("accepts known kinds, http(s) URLs and usable credential names, and ignores empty values", () => {
    const env = {
      SWITCHBOARD_BASE_URL_OPENAI: "http://vllm:8000/v1",
      SWITCHBOARD_BASE_URL_ANTHROPIC: "https://proxy.example",
      SWITCHBOARD_CREDENTIAL_OPENAI_EU: "sk-1",
      SWITCHBOARD_BASE_URL_OPNEAI: "",
      SWITCHBOARD_CREDENTIAL_lower: "",
    };
    expect(loadConfig({ env })).toEqual(defaultConfig());
    expect(baseUrlsFromEnv(env)).toEqual({ openai: "http://vllm:8000/v1", anthropic: "https://proxy.example" });
    expect(credentialsFromEnv(env)).toEqual(new Map([["credentials/openai-eu", "sk-1"]]));
  });
});
