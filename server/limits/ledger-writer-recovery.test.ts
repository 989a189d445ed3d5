import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogCapture } from "../../test/support/log-capture.js";
import { createTestDatabase, type TestDatabase } from "../../test/support/postgres.js";
import { createDatabase, type DatabaseHandle } from "../store/database.js";
import { migrateToLatest } from "../store/migrate.js";
import { createUsageStore, type UsageRecordRow, type UsageStore } from "../store/usage-store.js";
import { encodeLedgerLine } from "./ledger-codec.js";
import { adoptOrphanedLedgers } from "./ledger-adoption.js";
import { ledgerRecord, memoryLedgerStore } from "./ledger-testing.js";
import { createLedgerWriter } from "./ledger-writer.js";

let testDb: TestDatabase;
let handle: DatabaseHandle;
let usage: UsageStore;

beforeAll(async () => {
  testDb = await createTestDatabase();
  handle = await createDatabase({ databaseUrl: testDb.url, pool: 2 });
  await migrateToLatest(handle.db);
  usage = createUsageStore(handle.db);
});
afterAll(async () => {
  await handle.close();
  await testDb.drop();
});

const committed = async (prefix: string) =>
  (await handle.db.selectFrom("usage_records").select("call_id").where("call_id", "like", `${prefix}%`).execute()).map((r) => r.call_id).sort();

// A buffer file whose terminated line holds NUL bytes (e.g. a zero-filled block a machine crash left
// in a file written with `fsync: never`): the line is unreadable and must go to the dead letters,
// while every readable record commits. Postgres cannot store U+0000 in `text`, so the dead-letter
// insert itself is refused (SQLSTATE 22021), and the writer treats that refusal as an outage.
describe("ledger buffer with a line holding NUL bytes (real Postgres)", () => {
  it("writer: commits the readable records and dead-letters the unreadable line instead of wedging", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "sb-ledger-recovery-"));
    try {
      const lines = encodeLedgerLine(ledgerRecord({ callId: "nul-w-0" })) + "\0\0\0\0\0\0\0\0\n" + encodeLedgerLine(ledgerRecord({ callId: "nul-w-1" }));
      await writeFile(path.join(dir, "ledger-000000000000001-1-0.jsonl"), lines);
      const logs = createLogCapture();
      const w = createLedgerWriter({ store: usage, dir, logger: logs.logger }, { flushIntervalMs: 60_000, maxRetryDelayMs: 20 });
      await w.start();
      try {
        // New paid calls keep appending behind the poisoned file.
        await w.append([ledgerRecord({ callId: "nul-w-new" })]);
        const flushed = await w.flush().then(
          () => "ok",
          (err: unknown) => String((err as Error).message),
        );
        expect(flushed).toBe("ok");
        expect(await committed("nul-w-")).toEqual(["nul-w-0", "nul-w-1", "nul-w-new"]);
        expect(w.pending()).toBe(0);
        expect(await usage.deadLetterCount()).toBeGreaterThanOrEqual(1n);
      } finally {
        await w.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("adoption: a dead replica's folder with such a line is adopted, not retried forever", async () => {
    const root = await mkdtemp(path.join(tmpdir(), "sb-ledger-recovery-root-"));
    try {
      const dead = path.join(root, "dead");
      await rm(dead, { recursive: true, force: true });
      await (await import("node:fs/promises")).mkdir(dead);
      await writeFile(path.join(dead, "ledger.lock"), "999999999");
      await writeFile(
        path.join(dead, "ledger-000000000000001-1-0.jsonl"),
        encodeLedgerLine(ledgerRecord({ callId: "nul-a-0" })) + "\0\0\0\0\n" + encodeLedgerLine(ledgerRecord({ callId: "nul-a-1" })),
      );
      const adopt = () => adoptOrphanedLedgers({ store: usage, root, self: path.join(root, "me"), logger: createLogCapture().logger });
      const first = await adopt().then(
        (r) => r,
        (err: unknown) => String((err as Error).message),
      );
      expect(first).toEqual({ adopted: 1, records: 2 });
      expect(await committed("nul-a-")).toEqual(["nul-a-0", "nul-a-1"]);
      expect(await readdir(root)).toEqual([]);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

// A batch Postgres refuses is retried row by row, each refused row dead-lettered as it is met. When
// Postgres drops later in that retry, the flush fails and the whole batch is retried: the rows
// already dead-lettered are refused, and dead-lettered, again. The dead-letter count operators are
// alerted on must count each refused record once, and an operator replaying the dead letters must
// find it once.
describe("ledger writer when Postgres drops during the row-by-row retry of a refused batch", () => {
  /**
   * The real store, whose connection drops under the row-by-row insert of `callId` (after the rows
   * before it were inserted or dead-lettered) and stays down until `restore()`.
   */
  const droppingUnder = (callId: string) => {
    let down = false;
    let dropped = false;
    const outage = () => new Error("Connection terminated unexpectedly");
    return {
      store: {
        async insertBatch(rows: readonly UsageRecordRow[]) {
          if (!dropped && rows.length === 1 && rows[0]!.callId === callId) down = dropped = true;
          if (down) throw outage();
          return usage.insertBatch(rows);
        },
        async deadLetter(entries: readonly { record: string; error: string }[]) {
          if (down) throw outage();
          return usage.deadLetter(entries);
        },
      },
      restore: () => (down = false),
    };
  };

  it("keeps the refused record once when the same writer retries the batch", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "sb-ledger-recovery-dl-"));
    const postgres = droppingUnder("dl-ok");
    const w = createLedgerWriter({ store: postgres.store, dir, logger: createLogCapture().logger }, { flushIntervalMs: 60_000, maxRetryDelayMs: 20 });
    await w.start();
    try {
      const before = await usage.deadLetterCount();
      await w.append([ledgerRecord({ callId: "dl-poison", inputTokens: -1 }), ledgerRecord({ callId: "dl-ok" })]);
      await expect(w.flush()).rejects.toThrow(/Connection terminated/);
      postgres.restore();
      await w.flush();
      expect(await committed("dl-")).toEqual(["dl-ok"]);
      expect(w.pending()).toBe(0);
      expect((await usage.deadLetterCount()) - before).toBe(1n);
    } finally {
      await w.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("keeps the refused record once when a restart replays the batch from its buffer file", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "sb-ledger-recovery-dl-"));
    try {
      const before = await usage.deadLetterCount();
      // Built in another field order than the buffer's decoder builds it (the template last), as
      // the usage stage builds its records: the replayed record must still be the same dead letter.
      const poison = ledgerRecord({ callId: "dlr-poison", inputTokens: -1, tags: { b: "2", a: "1" }, template: { name: "prompts/x", version: 2 } });
      const first = createLedgerWriter({ store: droppingUnder("dlr-ok").store, dir, logger: createLogCapture().logger }, { flushIntervalMs: 60_000, maxRetryDelayMs: 20 });
      await first.start();
      await first.append([poison, ledgerRecord({ callId: "dlr-ok" })]);
      await expect(first.flush()).rejects.toThrow(/Connection terminated/);
      await first.close(); // Postgres still down: the batch stays in the buffer file
      const restarted = createLedgerWriter({ store: usage, dir, logger: createLogCapture().logger }, { flushIntervalMs: 60_000, maxRetryDelayMs: 20 });
      expect(await restarted.start()).toEqual({ replayed: 2 });
      try {
        await restarted.flush();
        expect(await committed("dlr-")).toEqual(["dlr-ok"]);
        expect((await usage.deadLetterCount()) - before).toBe(1n);
      } finally {
        await restarted.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

// `append` documents: "should the disk fail, the records wait in memory and `hasCapacity()` turns
// false until a write succeeds again". But while it is false the usage stage refuses every paid
// call before it runs, so no paid call ever appends again: after a transient disk error (a full
// disk that was freed, a folder briefly gone) the replica refuses all paid calls with Unavailable
// until it is restarted, though its disk works and its backlog is committed.
describe("ledger writer after a transient disk failure", () => {
  it("regains capacity once the disk works again and the held records are committed", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "sb-ledger-recovery-disk-"));
    const store = memoryLedgerStore();
    const w = createLedgerWriter({ store, dir, logger: createLogCapture().logger }, { flushIntervalMs: 20, maxRetryDelayMs: 20 });
    await w.start();
    try {
      await w.append([ledgerRecord({ callId: "disk-0" })]);
      await w.flush();
      // The disk fails for one append (here: the folder is gone, so no new buffer file can be made).
      await rm(dir, { recursive: true, force: true });
      await w.append([ledgerRecord({ callId: "disk-1" })]);
      expect(w.hasCapacity()).toBe(false);
      // The disk is back; the record held in memory is committed by the next flushes.
      await mkdir(dir, { recursive: true });
      await w.flush();
      expect([...store.rows.keys()].sort()).toEqual(["disk-0/1", "disk-1/1"]);
      expect(w.pending()).toBe(0);
      // Only paid calls would append now, and the usage stage sheds them while this is false.
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(w.hasCapacity()).toBe(true);
    } finally {
      await w.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
