import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../test/support/postgres.js";
import { requireEnv } from "../../test/support/require-env.js";
import { startTcpProxy, type TcpProxy } from "../../test/support/tcp-proxy.js";
import { durationMs } from "./bounded-pool.js";
import { createDatabase, type DatabaseHandle } from "./database.js";
import { isDatabaseUnreachable } from "./unreachable.js";

describe("statement_timeout values", () => {
  it("reads Postgres's units, a bare number as ms, and what it cannot read as no bound", () => {
    expect([durationMs("60s"), durationMs("5min"), durationMs("250"), durationMs("1.5 s"), durationMs("0"), durationMs("DEFAULT")]).toEqual([60_000, 300_000, 250, 1_500, 0, 0]);
  });
});

describe("a pool whose queries are bounded (real Postgres)", () => {
  requireEnv("DATABASE_URL");
  let database: TestDatabase;
  let proxy: TcpProxy;
  let handle: DatabaseHandle;
  const backend = async () => (await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(handle.db)).rows[0]!.pid;

  beforeAll(async () => {
    database = await createTestDatabase();
    const target = new URL(database.url);
    proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port) });
    handle = await createDatabase({ databaseUrl: proxy.rewrite(database.url), pool: 1, statementTimeoutMs: 300, connectTimeoutMs: 500 });
  });
  afterAll(async () => {
    await proxy?.setMode("forward");
    await handle?.close();
    await proxy?.close();
    await database?.drop();
  });

  it("a live server cancels a slow statement itself and keeps the connection", async () => {
    const pid = await backend();
    const err = await sql`select pg_sleep(1)`.execute(handle.db).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "57014" });
    expect(isDatabaseUnreachable(err)).toBe(true);
    expect(await backend()).toBe(pid);
  });

  it("work that sets a longer statement_timeout for its transaction gets it, on the client too", async () => {
    const slept = await handle.db.transaction().execute(async (trx) => {
      await sql`set local statement_timeout = '5s'`.execute(trx);
      // Longer than the pool's statement bound plus the client's margin.
      return (await sql<{ ok: number }>`select 1 as ok from pg_sleep(2.5)`.execute(trx)).rows;
    });
    expect(slept).toEqual([{ ok: 1 }]);
    // Back to the pool's bound once the transaction ended.
    await expect(sql`select pg_sleep(1)`.execute(handle.db)).rejects.toMatchObject({ code: "57014" });
  }, 15_000);

  it("a connection that never answers is closed, and the next query opens a fresh one", async () => {
    const pid = await backend();
    await proxy.setMode("vanish");
    const err = await sql`select 1`.execute(handle.db).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "ETIMEDOUT" });
    expect(isDatabaseUnreachable(err)).toBe(true);
    // Making a connection to a server that does not answer is bounded too.
    expect(isDatabaseUnreachable(await sql`select 1`.execute(handle.db).catch((e: unknown) => e))).toBe(true);
    await proxy.setMode("forward");
    await expect.poll(() => backend().catch(() => undefined), { timeout: 10_000 }).not.toBe(undefined);
    expect(await backend()).not.toBe(pid);
  }, 20_000);
});
