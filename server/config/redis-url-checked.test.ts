import { describe, expect, it } from "vitest";
import { issuesOf } from "./config-issues.testing.js";

// REDIS_URL passes the config's check whenever WHATWG `new URL` parses it with a redis scheme.
// But ioredis reads more into it: the path is the database index (`/abc` becomes SELECT NaN,
// an unhandled ReplyError that kills the process after it has half started), and the userinfo is
// percent-decoded (`%zz` throws URIError in `new Redis`). Both reached the operator as a stack
// trace with exit code 1 instead of a config error with exit code 2 naming redis.url.
describe("redis.url", () => {
  it("refuses a database index that is not a whole number", () => {
    for (const url of ["redis://127.0.0.1:6379/abc", "redis://127.0.0.1:6379/1.5", "redis://127.0.0.1:6379/0/x"]) {
      const issues = issuesOf(() => loadRedis(url));
      expect(issues).toHaveLength(1);
      expect(issues[0]).toMatch(/^redis\.url: must be/);
      expect(issues[0]).toContain("(from REDIS_URL)");
    }
  });

  it("refuses userinfo that is not valid percent-encoding, without echoing it", () => {
    const issues = issuesOf(() => loadRedis("redis://:hunter2%zz@127.0.0.1:6379"));
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatch(/^redis\.url: must be/);
    expect(issues[0]).not.toContain("hunter2");
  });

  it("still accepts the forms ioredis understands", async () => {
    const { loadConfig } = await import("./config.js");
    for (const url of ["redis://127.0.0.1:6379", "redis://127.0.0.1:6379/", "redis://127.0.0.1:6379/3", "rediss://user:p%40ss@h:6380/0", "redis://:pw@h"]) {
      expect(loadConfig({ env: { REDIS_URL: url } }).redis.url).toBe(url);
    }
  });
});

import { loadConfig } from "./config.js";
function loadRedis(url: string): unknown {
  return loadConfig({ env: { REDIS_URL: url } });
}

describe("redis.url, beyond the path", () => {
  it("refuses a ?db= that is not a whole number and an upper-case scheme (ioredis's TLS switch is case-sensitive)", () => {
    for (const url of ["redis://127.0.0.1:6379?db=abc", "REDISS://:pw@127.0.0.1:6380"]) {
      const issues = issuesOf(() => loadRedis(url));
      expect(issues).toHaveLength(1);
      expect(issues[0]).toMatch(/^redis\.url: must be/);
      expect(issues[0]).not.toContain("pw@");
    }
  });
});
