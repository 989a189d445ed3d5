import { spawn } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createLogCapture } from "../../test/support/log-capture.js";
import { createTestDatabase } from "../../test/support/postgres.js";
import { createDatabase } from "../store/database.js";
import { migrateToLatest } from "../store/migrate.js";
import { encodeLedgerLine } from "./ledger-codec.js";
import { adoptOrphanedLedgers } from "./ledger-adoption.js";
import { ledgerRecord, memoryLedgerStore, type MemoryLedgerStore } from "./ledger-testing.js";
import { createMoneyLayer } from "./money-layer.js";

let root: string;
let store: MemoryLedgerStore;
beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), "sb-ledger-shared-"));
  store = memoryLedgerStore();
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A replica that appends `count` records with Postgres down, acknowledges them, and is SIGKILLed. */
async function crashedReplica(dir: string, count: number): Promise<void> {
  const child = spawn(process.execPath, ["--import", "tsx", fileURLToPath(new URL("./ledger-writer.crash-child.ts", import.meta.url)), dir, String(count)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  child.stdout.on("data", (chunk: Buffer) => {
    out += chunk.toString();
    if (out.includes(`acked ${count}`)) child.kill("SIGKILL");
  });
  const signal = await new Promise<NodeJS.Signals | null>((resolve) => child.on("exit", (_code, s) => resolve(s)));
  expect(signal).toBe("SIGKILL");
}

const adopt = (self = path.join(root, "me")) => adoptOrphanedLedgers({ store, root, self, logger: createLogCapture().logger });

describe("adopting the ledger buffers of dead replicas", () => {
  it("commits every acknowledged record of a SIGKILLed replica exactly once and removes its folder", async () => {
    await crashedReplica(path.join(root, "dead-a"), 40);
    await mkdir(path.join(root, "me"));
    expect(await adopt()).toEqual({ adopted: 1, records: 40 });
    expect(store.rows.size).toBe(40);
    expect(await readdir(root)).toEqual(["me"]);
    expect(await adopt()).toEqual({ adopted: 0, records: 0 });
  }, 20_000);

  it("leaves live replicas, other hosts and its own folder alone", async () => {
    const line = encodeLedgerLine(ledgerRecord({ callId: "live" }));
    for (const [name, lock] of [
      ["live", JSON.stringify({ pid: process.ppid, host: (await import("node:os")).hostname() })],
      ["other-host", JSON.stringify({ pid: 999_999_999, host: "some-other-host" })],
      ["me", String(process.pid)],
      // Another ledger folder of this very process (not one it claimed from a dead replica): alive.
      ["sibling", String(process.pid)],
    ] as const) {
      await mkdir(path.join(root, name));
      await writeFile(path.join(root, name, "ledger.lock"), lock);
      await writeFile(path.join(root, name, "ledger-000000000000001-1-0.jsonl"), line);
    }
    expect(await adopt()).toEqual({ adopted: 0, records: 0 });
    expect(store.rows.size).toBe(0);
    expect((await readdir(root)).sort()).toEqual(["live", "me", "other-host", "sibling"]);
  });

  it("leaves alone a folder with neither a lock nor buffer files (a replica still starting)", async () => {
    await mkdir(path.join(root, "starting"));
    await writeFile(path.join(root, "starting", "probe-1.tmp"), "\n");
    expect(await adopt()).toEqual({ adopted: 0, records: 0 });
    expect(await readdir(root)).toEqual(["starting"]);
    expect(await readdir(path.join(root, "starting"))).toEqual(["probe-1.tmp"]);
  });

  it("commits a dead replica's file holding more than batchRows records, every record", async () => {
    await mkdir(path.join(root, "big"));
    await writeFile(path.join(root, "big", "ledger.lock"), "999999999");
    await writeFile(path.join(root, "big", "ledger-000000000000001-1-0.jsonl"), Array.from({ length: 5 }, (_, i) => encodeLedgerLine(ledgerRecord({ callId: `big-${i}` }))).join(""));
    expect(await adoptOrphanedLedgers({ store, root, self: path.join(root, "me"), logger: createLogCapture().logger, batchRows: 2 })).toEqual({ adopted: 1, records: 5 });
    expect([...store.rows.keys()].sort()).toEqual(["big-0/1", "big-1/1", "big-2/1", "big-3/1", "big-4/1"]);
    expect(store.inserts).toBe(3);
  });

  it("adopts a folder left without a lock, dead-letters unreadable lines, and ignores a torn last line", async () => {
    await mkdir(path.join(root, "closed"));
    const lines = [ledgerRecord({ callId: "a" }), ledgerRecord({ callId: "b" })].map(encodeLedgerLine).join("") + "not json\n" + encodeLedgerLine(ledgerRecord({ callId: "torn" })).slice(0, 30);
    await writeFile(path.join(root, "closed", "ledger-000000000000001-1-0.jsonl"), lines);
    expect(await adopt()).toEqual({ adopted: 1, records: 2 });
    expect([...store.rows.keys()].sort()).toEqual(["a/1", "b/1"]);
    expect(store.deadLetters.map((d) => d.record)).toEqual(["not json"]);
  });

  it("keeps a claimed folder through a Postgres outage and finishes it on the next pass", async () => {
    await crashedReplica(path.join(root, "dead-b"), 12);
    store.failWith = new Error("connect ECONNREFUSED");
    await expect(adopt()).rejects.toThrow(/ECONNREFUSED/);
    const [claimed] = (await readdir(root)).filter((n) => n.startsWith("dead-b.adopted-"));
    expect(claimed).toBeDefined();
    // The claimed folder names this replica, so no other replica takes it over while this one lives.
    expect(JSON.parse(await readFile(path.join(root, claimed!, "ledger.lock"), "utf8"))).toEqual({ pid: process.pid, host: hostname() });
    store.failWith = undefined;
    expect(await adopt()).toEqual({ adopted: 1, records: 12 });
    expect(store.rows.size).toBe(12);
    expect(await readdir(root)).toEqual([]);
  }, 20_000);

  it("reaches Postgres through the money layer: a replica started on the shared folder adopts at start", async () => {
    const database = await createTestDatabase();
    const handle = await createDatabase({ databaseUrl: database.url, pool: 2 });
    try {
      await migrateToLatest(handle.db);
      await crashedReplica(path.join(root, "dead-c"), 25);
      const money = await createMoneyLayer({ db: handle.db, logger: createLogCapture().logger, ledgerDir: path.join(root, "replica-2"), adoptFrom: root, adoptIntervalMs: 60_000 });
      try {
        await expect.poll(async () => (await money.usage.totals({ start: new Date(0), end: new Date(Date.now() + 86_400_000 * 3650) })).attempts, { timeout: 10_000 }).toBe(25n);
        // The adopted folder is removed just after its rows commit: wait for it, not only the rows.
        await expect.poll(() => readdir(root), { timeout: 10_000 }).toEqual(["replica-2"]);
        // A replay of the same records (say the dead replica had committed some) adds nothing.
        await mkdir(path.join(root, "dead-d"));
        await writeFile(path.join(root, "dead-d", "ledger-000000000000001-1-0.jsonl"), encodeLedgerLine(ledgerRecord({ callId: "crash-3", costMicros: 3n })));
        expect(await money.adoptOrphans()).toEqual({ adopted: 1, records: 1 });
        expect((await money.usage.totals({ start: new Date(0), end: new Date(Date.now() + 86_400_000 * 3650) })).attempts).toBe(25n);
      } finally {
        await money.close();
      }
    } finally {
      await handle.close();
      await database.drop();
    }
  }, 25_000);
});
