/**
 * A throwaway `redis-server` of a test's own, for the few tests that change what the whole
 * server holds (its script cache): on the Redis every test file shares, `SCRIPT FLUSH` makes
 * another file's next scripts fall back to `EVAL` — one more round trip each — in the middle of
 * whatever that file is timing. Undefined when no `redis-server` is on the PATH (a REDIS_URL given
 * from outside): the caller then uses the shared one.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { freePort } from "./free-port.js";

export interface PrivateRedis {
  url: string;
  close(): Promise<void>;
}

export async function startPrivateRedis(): Promise<PrivateRedis | undefined> {
  if (spawnSync("redis-server", ["--version"], { stdio: "ignore" }).status !== 0) return undefined;
  const port = await freePort();
  // A directory of its own: a server made a replica (a failover test) writes the RDB it receives there, not into the worktree.
  const dir = mkdtempSync(join(tmpdir(), "sb-private-redis-"));
  const child = spawn("redis-server", ["--bind", "127.0.0.1", "--port", String(port), "--save", "", "--appendonly", "no", "--dir", dir], { stdio: "ignore" });
  child.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  const url = `redis://127.0.0.1:${port}`;
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => 50 });
  probe.on("error", () => undefined); // refused until the server listens: retried below
  try {
    for (let tries = 0; ; tries++) {
      try {
        if (probe.status === "wait") await probe.connect();
        await probe.ping();
        break;
      } catch (err) {
        if (tries >= 100 || child.exitCode !== null) throw new Error(`private redis-server on ${port} did not start: ${String(err)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  } finally {
    probe.disconnect();
  }
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}
