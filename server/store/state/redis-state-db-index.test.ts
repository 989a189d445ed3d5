import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { requireEnv } from "../../../test/support/require-env.js";
import { createRedisState } from "./redis-state.js";

const base = requireEnv("REDIS_URL").replace(/\/\d*$/, "");
const raw = new Redis(base);
afterAll(() => raw.disconnect());

// A REDIS_URL naming a database the server does not have (`/99` on the default 16): ioredis's
// SELECT fails on connect, the error goes to the "error" event, and the client still becomes
// ready — on database 0. The deployment meant to be kept apart by its database index silently
// shared database 0 (and the `sb:` prefix) with whatever else uses it: counters, budget holds,
// the response cache. Every command is refused instead, and the operator warned.
describe("createRedisState with a database index the server refuses", () => {
  it("does not silently run on database 0", async () => {
    const prefix = `audit-db-${randomUUID()}:`;
    const warnings: string[] = [];
    const state = createRedisState({ url: `${base}/99`, keyPrefix: prefix, commandTimeoutMs: 500, connectTimeoutMs: 1000, onWarning: (message) => warnings.push(message) });
    const wrote = await state.set("k", new Uint8Array([1]), 60_000).then(
      () => "written",
      (err: unknown) => String(err),
    );
    await state.close();
    const inDb0 = await raw.exists(`${prefix}k`);
    await raw.del(`${prefix}k`);
    expect(inDb0).toBe(0);
    expect(wrote).toMatch(/refused the database index/);
    expect(warnings).toEqual([expect.stringMatching(/refused the database index of REDIS_URL/)]);
  });
});
