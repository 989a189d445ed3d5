import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { createLogCapture } from "../../test/support/log-capture.js";
import { requireEnv } from "../../test/support/require-env.js";
import { createRedisState } from "../store/state/redis-state.js";
import { createBudgetReservations, type BudgetRef } from "./budget-reservation.js";
import { createHoldSweeper } from "./hold-sweeper.js";
import { createReplicaLease, replicaLeaseKey } from "./replica-lease.js";
import { redisKeySpace } from "./redis-key-space.testing.js";

const url = requireEnv("REDIS_URL");
const prefix = `sbtest:crash:${randomBytes(6).toString("hex")}:`;
const admin = new Redis(url);
const budget: BudgetRef = { id: "orgs/acme/budgets/total", level: "org", limitMicros: 1_000_000n, period: "total", tz: "UTC" };
const LEASE_TTL_MS = 1000; // the child's lease (crash-child.ts), refreshed every 200 ms
const INTERVAL_MS = 300;

afterAll(async () => {
  await redisKeySpace(admin, prefix).clear();
  await admin.quit();
});

describe("hold sweeper, a replica killed with -9", () => {
  it("gives the dead replica's hold back within lease TTL + one sweep interval, not before its lease lapses", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", fileURLToPath(new URL("./hold-sweeper.crash-child.ts", import.meta.url)), url, prefix, "org_crash", "700"], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const owner = await new Promise<string>((resolve, reject) => {
      let out = "";
      child.stdout.on("data", (chunk: Buffer) => {
        out += chunk.toString();
        const m = /held (\w+)/.exec(out);
        if (m) resolve(m[1]!);
      });
      child.on("exit", (code) => reject(new Error(`child exited early (${code})`)));
    });
    const state = createRedisState({ url, keyPrefix: prefix, commandTimeoutMs: 2000 });
    const log = createLogCapture();
    try {
      const reserved = async () => (await createBudgetReservations({ state, clock: { now: () => Date.now() } }).snapshot("org_crash", budget)).reservedMicros;
      const lease = createReplicaLease({ state, logger: log.logger });
      await lease.start();
      const leaseTtl = await admin.pttl(prefix + replicaLeaseKey(lease.id));
      expect(leaseTtl).toBeGreaterThan(0); // P6: the lease expires by itself
      expect(leaseTtl).toBeLessThanOrEqual(15_000);
      const sweeper = createHoldSweeper({ state, lease, tenants: () => ["org_crash"], logger: log.logger }, { intervalMs: INTERVAL_MS });
      // Alive: its hold stays.
      expect(await sweeper.sweep()).toEqual({ tenants: 1, released: 0, failed: 0 });
      expect(await reserved()).toBe(700n);

      const exited = new Promise((resolve) => child.once("exit", (_code, signal) => resolve(signal)));
      const killedAt = Date.now();
      child.kill("SIGKILL");
      expect(await exited).toBe("SIGKILL");
      // Dead, but its lease has not lapsed yet: still not swept.
      if ((await admin.pttl(prefix + replicaLeaseKey(owner))) > 0) {
        expect((await sweeper.sweep()).released).toBe(0);
        expect(await reserved()).toBe(700n);
      }
      sweeper.start();
      while ((await reserved()) !== 0n && Date.now() - killedAt < 10_000) await new Promise((r) => setTimeout(r, 25));
      const releasedAfter = Date.now() - killedAt;
      await sweeper.stop();
      await lease.stop();

      expect(await reserved()).toBe(0n);
      // Within the lease TTL + a jittered interval (+ generous slack for a loaded machine).
      expect(await admin.exists(prefix + replicaLeaseKey(owner))).toBe(0);
      expect(releasedAfter).toBeLessThan(LEASE_TTL_MS + INTERVAL_MS * 1.2 + 2000);
      const warn = log.lines().find((l) => l.msg === "released budget holds of replicas whose lease lapsed");
      expect(warn).toMatchObject({ tenant: "org_crash", totalMicros: 700, holds: [{ owner, heldMicros: 700 }] });
    } finally {
      child.kill("SIGKILL");
      await state.close();
    }
  }, 20_000);
});
