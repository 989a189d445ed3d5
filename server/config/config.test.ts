import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError } from "./config-error.js";
import { generateSecret } from "../auth/key-format.js";
import { defaultConfig, loadConfig } from "./config.js";

function writeYaml(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), "sb-config-"));
  const file = join(dir, "switchboard.yaml");
  writeFileSync(file, text);
  return file;
}

function issuesOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).issues.map((i) => `${i.path}: ${i.message}`);
  }
  throw new Error("expected a ConfigError");
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

  it("requires a pepper with DATABASE_URL, saying how to make one", () => {
    const issues = issuesOf(() => loadConfig({ env: { DATABASE_URL: "postgres://db/switchboard" } }));
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatch(/^auth\.pepper: required when database\.url is set: .*SWITCHBOARD_KEY_PEPPER.*openssl rand/);
    const pepper = "p".repeat(32);
    const config = loadConfig({ env: { DATABASE_URL: "postgres://db/switchboard", SWITCHBOARD_KEY_PEPPER: pepper } });
    expect(config.auth).toEqual({ pepper, cacheTtlMs: 5_000 });
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

  it("reads the bootstrap key and the auth cache TTL", () => {
    const key = generateSecret();
    const config = loadConfig({ env: { SWITCHBOARD_BOOTSTRAP_KEY: key, SWITCHBOARD_AUTH_CACHE_TTL_MS: "1500" } });
    expect(config.auth).toEqual({ bootstrapKey: key, cacheTtlMs: 1_500 });
    expect(issuesOf(() => loadConfig({ env: { SWITCHBOARD_AUTH_CACHE_TTL_MS: "600000" } }))[0]).toMatch(
      /^auth\.cacheTtlMs: must be an integer from 0 to 60000/,
    );
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
