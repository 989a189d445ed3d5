import { afterEach, describe, expect, it } from "vitest";
import { createLogCapture } from "../../test/support/log-capture.js";
import { createMemoryState } from "../store/state/memory-state.js";
import type { StateBackend } from "../store/state/state-backend.js";
import { createReplicaLease, replicaLeaseKey } from "./replica-lease.js";

let state: StateBackend | undefined;
afterEach(async () => {
  await state?.close();
});

describe("replica lease", () => {
  it("is gone at once when its replica stops, long before its TTL would have lapsed", async () => {
    const now = 1_000_000;
    state = createMemoryState({ now: () => now });
    const log = createLogCapture();
    const lease = createReplicaLease({ state, logger: log.logger }, { ttlMs: 15_000, refreshMs: 60_000 });
    const other = createReplicaLease({ state, logger: log.logger });
    await lease.start();
    expect(await other.isAlive(lease.id)).toBe(true);
    await lease.stop();
    expect(await state.get(replicaLeaseKey(lease.id))).toBeUndefined();
    expect(await other.isAlive(lease.id)).toBe(false);
  });

  it("logs a failing refresh once, and once more when it works again", async () => {
    const inner = createMemoryState();
    state = inner;
    let down = true;
    const flaky: StateBackend = { ...inner, set: (k, v, ttl) => (down ? Promise.reject(new Error("connect ECONNREFUSED")) : inner.set(k, v, ttl)) };
    const log = createLogCapture();
    const lease = createReplicaLease({ state: flaky, logger: log.logger }, { ttlMs: 1000, refreshMs: 10 });
    await lease.start();
    await new Promise((resolve) => setTimeout(resolve, 60)); // several failed refreshes
    down = false;
    await expect.poll(() => inner.get(replicaLeaseKey(lease.id)), { timeout: 2000 }).toBeDefined();
    await new Promise((resolve) => setTimeout(resolve, 40)); // several good ones
    await lease.stop();
    expect(log.lines().map((l) => [l.level, l.msg])).toEqual([
      ["warn", "replica lease refresh failed; other replicas may release this replica's budget holds if it keeps failing"],
      ["info", "replica lease renewed"],
    ]);
  });
});
