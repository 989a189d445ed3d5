import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { startMain, type MainProcess } from "../support/main-process.js";
import { requireEnv } from "../support/require-env.js";

const running: MainProcess[] = [];
const folders: string[] = [];
afterAll(() => {
  for (const r of running) r.child.kill("SIGKILL");
  for (const f of folders) rmSync(f, { recursive: true, force: true });
});

// A REDIS_URL whose path is not a database number passed the config check; ioredis then sent
// SELECT NaN on connect and its rejection went unhandled: the gateway died (exit 1, a ReplyError
// stack) after migrating, creating the bootstrap key and seeding routes, instead of being refused
// at the config step like any other invalid value (README: exit code 2, the exact path).
describe("server/main.ts with a REDIS_URL naming no database number", () => {
  it("refuses it as invalid configuration: exit code 2, redis.url named, no stack", async () => {
    const redisUrl = requireEnv("REDIS_URL").replace(/\/\d*$/, "");
    const base = mkdtempSync(join(tmpdir(), "sb-redis-url-"));
    folders.push(base);
    const run = startMain({ SWITCHBOARD_DATA_DIR: join(base, "pglite"), REDIS_URL: `${redisUrl}/abc` });
    running.push(run);
    const code = await run.exited;
    expect(run.stderr()).not.toMatch(/\n\s+at /);
    expect(run.stderr()).toContain("redis.url");
    expect(code).toBe(2);
  }, 60_000);
});
