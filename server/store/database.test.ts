import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../test/support/postgres.js";
import { requireEnv } from "../../test/support/require-env.js";
import { createDatabase, type DatabaseHandle } from "./database.js";

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Behaviour both engines must share, so code above the store cannot tell them apart. */
function describeEngine(
  kind: DatabaseHandle["kind"],
  open: () => Promise<DatabaseHandle>,
  engineSpecific?: (current: () => DatabaseHandle) => void,
): void {
  let handle: DatabaseHandle;
  beforeAll(async () => {
    handle = await open();
    await sql`create table items (id int primary key, label text not null)`.execute(handle.db);
  });
  afterAll(async () => {
    await handle?.close();
    await handle?.close();
  });

  it(`reports its kind (${kind})`, () => {
    expect(handle.kind).toBe(kind);
  });

  it("decodes int8 as an exact bigint", async () => {
    const { rows } = await sql<{ big: unknown; small: unknown }>`
      select 9007199254740993::int8 as big, 7::int8 as small
    `.execute(handle.db);
    expect(rows[0]).toEqual({ big: 9007199254740993n, small: 7n });
  });

  it("commits, rolls back, and counts affected rows", async () => {
    const { db } = handle;
    await sql`insert into items values (1, 'one'), (2, 'two')`.execute(db);
    await expect(
      db.transaction().execute(async (trx) => {
        await sql`insert into items values (3, 'three')`.execute(trx);
        throw new Error("abort");
      }),
    ).rejects.toThrow("abort");
    const result = await sql`update items set label = upper(label)`.execute(db);
    expect(result.numAffectedRows).toBe(2n);
    const { rows } = await sql<{ id: number }>`select id from items order by id`.execute(db);
    expect(rows.map((row) => row.id)).toEqual([1, 2]);
  });

  it("refuses to commit a transaction an earlier statement aborted", async () => {
    await expect(
      handle.db.transaction().execute(async (trx) => {
        await sql`insert into items values (1, 'duplicate')`.execute(trx).catch(() => undefined);
      }),
    ).rejects.toThrow();
    await expect(sql`select 1 as ok`.execute(handle.db)).resolves.toMatchObject({ rows: [{ ok: 1 }] });
  });

  it("rolls back to a savepoint", async () => {
    const trx = await handle.db.startTransaction().execute();
    await sql`insert into items values (10, 'kept')`.execute(trx);
    const afterKept = await trx.savepoint("after_kept").execute();
    await sql`insert into items values (11, 'discarded')`.execute(afterKept);
    await afterKept.rollbackToSavepoint("after_kept").execute();
    await trx.commit().execute();
    const { rows } = await sql<{ id: number }>`select id from items where id >= 10 order by id`.execute(handle.db);
    expect(rows.map((row) => row.id)).toEqual([10]);
  });

  it("keeps concurrent transactions apart", async () => {
    const { db } = handle;
    await Promise.all([
      db
        .transaction()
        .execute(async (trx) => {
          await sql`insert into items values (20, 'rolled back')`.execute(trx);
          await sleep(20);
          throw new Error("abort");
        })
        .catch(() => undefined),
      db.transaction().execute(async (trx) => {
        await sleep(5);
        await sql`insert into items values (21, 'committed')`.execute(trx);
      }),
      sql`insert into items values (22, 'autocommit')`.execute(db),
    ]);
    const { rows } = await sql<{ id: number }>`select id from items where id >= 20 order by id`.execute(db);
    expect(rows.map((row) => row.id)).toEqual([21, 22]);
  });

  engineSpecific?.(() => handle);
}

describe("createDatabase with PGlite", () => {
  // Few PGlite instances per file: each costs 1-3 s and ≈ 150 MB.
  describeEngine("pglite", () => createDatabase({ dataDir: "memory://" }), (current) => {
    it("runs on 16 MB of shared buffers unless told otherwise (Postgres's 128 would stay resident)", async () => {
      const { rows } = await sql<{ shared_buffers: string }>`show shared_buffers`.execute(current().db);
      expect(rows[0]!.shared_buffers).toBe("16MB");
    });

    it("serializes transactions on its single session", async () => {
      const { db } = current();
      await sql`create table counter (n int not null)`.execute(db);
      await sql`insert into counter values (0)`.execute(db);
      // Read-modify-write with a pause in between: any interleaving would lose increments.
      await Promise.all(
        Array.from({ length: 20 }, () =>
          db.transaction().execute(async (trx) => {
            const { rows } = await sql<{ n: number }>`select n from counter`.execute(trx);
            await sleep(2);
            await sql`update counter set n = ${rows[0]!.n + 1}`.execute(trx);
          }),
        ),
      );
      const { rows } = await sql<{ n: number }>`select n from counter`.execute(db);
      expect(rows[0]!.n).toBe(20);
    });

    it("streams rows in chunks", async () => {
      await sql`create table nums as select generate_series(1, 5) as i`.execute(current().db);
      const db = current().db.withTables<{ nums: { i: number } }>();
      const streamed: number[] = [];
      for await (const row of db.selectFrom("nums").select("i").orderBy("i").stream(2)) streamed.push(row.i);
      expect(streamed).toEqual([1, 2, 3, 4, 5]);
    });
  });
});

describe("createDatabase with PGlite, configured", () => {
  it("takes the shared buffers it is given, and refuses a size that is not a positive integer before starting", async () => {
    await expect(createDatabase({ dataDir: "memory://", sharedBuffersMb: 0 })).rejects.toThrow(RangeError);
    await expect(createDatabase({ dataDir: "memory://", sharedBuffersMb: 1.5 })).rejects.toThrow(RangeError);
    const handle = await createDatabase({ dataDir: "memory://", sharedBuffersMb: 8 });
    try {
      const { rows } = await sql<{ shared_buffers: string }>`show shared_buffers`.execute(handle.db);
      expect(rows[0]!.shared_buffers).toBe("8MB");
    } finally {
      await handle.close();
    }
  }, 30_000);
});

describe("createDatabase with Postgres", () => {
  requireEnv("DATABASE_URL");
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database?.drop();
  });
  describeEngine("postgres", () => createDatabase({ databaseUrl: database.url, pool: 4 }));
});
