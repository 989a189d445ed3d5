import { sql } from "kysely";
import { describe, expect, it } from "vitest";
import { useMigratedDatabase } from "../../test/support/migrated-database.js";
import { readTableStats, type TableStats } from "./table-stats.js";


const database = useMigratedDatabase();

describe("readTableStats", () => {
  it("lists every table of the schema with its size and the collector's row churn", async () => {
    const db = database().db;
    await sql`create table churn (id int primary key, v text)`.execute(db);
    await sql`insert into churn select g, repeat('x', 200) from generate_series(1, 100) g`.execute(db);
    await sql`update churn set v = 'y' where id <= 40`.execute(db);
    await sql`delete from churn where id > 90`.execute(db);
    // Each backend flushes its counts to the collector about once a second.
    let churn: TableStats | undefined;
    for (let i = 0; i < 50; i++) {
      churn = (await readTableStats(db)).find((t) => t.name === "churn");
      if (churn?.deleted === 10) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(churn).toMatchObject({ inserted: 100, updated: 40, deleted: 10, liveTuples: 90 });
    // 50 row versions died; pruning on a later read may already have taken some.
    expect(churn!.deadTuples).toBeGreaterThan(0);
    expect(churn!.deadTuples).toBeLessThanOrEqual(50);
    expect(churn!.bytes).toBeGreaterThanOrEqual(2 * 8192); // the heap page and the primary key's
    const names = (await readTableStats(db)).map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(["usage_records", "keys", "budgets", "churn"]));
  });
});
