import { spawn } from "node:child_process";
import { constants as fsConstants } from "node:fs";
import { mkdtemp, readdir, readFile, readlink, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createLogCapture } from "../../test/support/log-capture.js";
import { encodeLedgerLine } from "./ledger-codec.js";
import { ledgerRecord, memoryLedgerStore, type MemoryLedgerStore } from "./ledger-testing.js";
import { createLedgerWriter, type LedgerWriter, type LedgerWriterOptions } from "./ledger-writer.js";

let dir: string;
let store: MemoryLedgerStore;
const writers: LedgerWriter[] = [];

let logs: ReturnType<typeof createLogCapture>;

const writer = async (opts: LedgerWriterOptions = {}) => {
  logs = createLogCapture();
  const w = createLedgerWriter({ store, dir, logger: logs.logger }, { flushIntervalMs: 60_000, maxRetryDelayMs: 20, ...opts });
  writers.push(w);
  await w.start();
  return w;
};
const records = (n: number, call = "c") => Array.from({ length: n }, (_, i) => ledgerRecord({ callId: `${call}-${i}`, costMicros: BigInt(i + 1) }));
const segments = async () => (await readdir(dir)).filter((f) => f.startsWith("ledger-"));

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "sb-ledger-"));
  store = memoryLedgerStore();
});
afterEach(async () => {
  store.failWith = undefined;
  await Promise.all(writers.splice(0).map((w) => w.close()));
  await rm(dir, { recursive: true, force: true });
});

describe("ledger writer", () => {
  it("writes records to the buffer file before acknowledging, then commits them and removes the file", async () => {
    const w = await writer();
    await w.append(records(3));
    const [file] = await segments();
    const text = await readFile(path.join(dir, file!), "utf8");
    expect(text.trimEnd().split("\n")).toHaveLength(3);
    expect(store.rows.size).toBe(0);
    expect(w.pending()).toBe(3);
    await w.flush();
    expect(store.rows.size).toBe(3);
    expect(w.pending()).toBe(0);
    expect(await segments()).toEqual([]);
  });

  it("round-trips every field through the buffer", async () => {
    const w = await writer();
    const r = ledgerRecord({ costMicros: 2n ** 60n, tags: { team: "a,b\"c" }, template: { name: "prompts/x", version: 3 }, estimated: true });
    await w.append([r]);
    store.failWith = new Error("down"); // the record stays in the buffer through close
    await w.close();
    store = memoryLedgerStore();
    const again = await writer();
    await again.flush();
    expect(store.rows.get("call-1/1")).toEqual(r);
  });

  // The durability of `fsync: always` rests on the segment being opened with O_DSYNC (write returns
  // once the data is on disk); the kernel reports an open file's flags in /proc/self/fdinfo.
  it.runIf(process.platform === "linux")("opens the buffer file with O_DSYNC when every append must be durable, and without it otherwise", async () => {
    const segmentFlags = async (): Promise<number> => {
      for (const fd of await readdir("/proc/self/fd")) {
        const target = await readlink(`/proc/self/fd/${fd}`).catch(() => "");
        if (target.startsWith(dir) && /ledger-[^/]+\.jsonl$/.test(target)) {
          const info = await readFile(`/proc/self/fdinfo/${fd}`, "utf8");
          return parseInt(/^flags:\s+([0-7]+)$/m.exec(info)![1]!, 8);
        }
      }
      throw new Error("no open ledger segment");
    };
    const durable = await writer();
    await durable.append(records(1));
    expect(await segmentFlags() & fsConstants.O_DSYNC).toBe(fsConstants.O_DSYNC);
    expect(await segmentFlags() & fsConstants.O_APPEND).toBe(fsConstants.O_APPEND);
    await durable.close();
    const osOnly = await writer({ fsync: "never" });
    await osOnly.append(records(1, "d"));
    expect(await segmentFlags() & fsConstants.O_DSYNC).toBe(0);
  });

  it("flushes on its own every interval and early at flushRows", async () => {
    const w = await writer({ flushIntervalMs: 30, flushRows: 1_000_000 });
    await w.append(records(2));
    await expect.poll(() => store.rows.size, { timeout: 2000 }).toBe(2);
    const early = await writer({ flushIntervalMs: 60_000, flushRows: 5 });
    await early.append(records(5, "early"));
    await expect.poll(() => store.rows.size, { timeout: 2000 }).toBe(7);
  });

  it("keeps every record through an outage, reports no capacity at the bound, and drains after it", async () => {
    const w = await writer({ maxPendingRows: 10, flushIntervalMs: 5, maxRetryDelayMs: 40 });
    expect(w.retryDelayMs()).toBe(5);
    store.failWith = new Error("connect ECONNREFUSED");
    for (let i = 0; i < 4; i++) await w.append(records(3, `batch${i}`));
    await expect(w.flush()).rejects.toThrow(/ECONNREFUSED/);
    expect(w.pending()).toBe(12);
    expect(w.hasCapacity()).toBe(false);
    // A shed call is told to wait for the next flush attempt: the backoff, doubling up to its cap.
    await expect.poll(() => w.retryDelayMs(), { timeout: 2000 }).toBe(40);
    store.failWith = undefined;
    await w.flush();
    expect(store.rows.size).toBe(12);
    expect(w.hasCapacity()).toBe(true);
    await expect.poll(() => w.retryDelayMs(), { timeout: 2000 }).toBe(5);
    expect(await segments()).toEqual([]);
  });

  it("never double-counts a replay: records committed before a crash are skipped by the unique key", async () => {
    const w = await writer();
    await w.append(records(4));
    await w.flush();
    // A crash after the commit but before the file was removed: the same lines are still there.
    await writeFile(path.join(dir, "ledger-000000000000001-1-0.jsonl"), records(4).map(encodeLedgerLine).join(""));
    store.inserts = 0;
    const restarted = await writer();
    await restarted.flush();
    expect(store.rows.size).toBe(4);
    expect(store.inserts).toBe(1);
  });

  it("ignores a torn last line (never acknowledged) and dead-letters an unreadable one", async () => {
    const lines = records(2).map(encodeLedgerLine).join("") + "not json\n" + encodeLedgerLine(ledgerRecord({ callId: "torn" })).slice(0, 40);
    await writeFile(path.join(dir, "ledger-000000000000001-1-0.jsonl"), lines);
    const w = await writer();
    await w.flush();
    expect([...store.rows.keys()].sort()).toEqual(["c-0/1", "c-1/1"]);
    expect(store.deadLetters.map((d) => d.record)).toEqual(["not json"]);
  });

  it("dead-letters only the rows Postgres refuses for their content; the rest of the batch commits", async () => {
    const w = await writer();
    await w.append([...records(3), ledgerRecord({ callId: "poison", inputTokens: -1 })]);
    await w.flush();
    expect(store.rows.size).toBe(3);
    expect(store.deadLetters).toHaveLength(1);
    expect(store.deadLetters[0]!.record).toContain('"poison"');
    expect(w.pending()).toBe(0);
  });

  it("shares one write among concurrent appends and keeps appending while a flush runs", async () => {
    const w = await writer();
    await Promise.all(Array.from({ length: 50 }, (_, i) => w.append([ledgerRecord({ callId: `p${i}` })])));
    const flushing = w.flush();
    await w.append([ledgerRecord({ callId: "late" })]);
    await flushing;
    await w.flush();
    expect(store.rows.size).toBe(51);
  });

  it("refuses a folder another live process holds, and takes over one a dead process left", async () => {
    await writeFile(path.join(dir, "ledger.lock"), String(process.ppid));
    const w = createLedgerWriter({ store, dir, logger: createLogCapture().logger });
    await expect(w.start()).rejects.toThrow(/in use by process/);
    await writeFile(path.join(dir, "ledger.lock"), "999999999");
    await writer();
  });

  /** Runs the crash child (`ledger-writer.crash-child.ts`) until it has acknowledged `count` records, then kills it. */
  const crashAfterAcks = async (count: number, ...more: string[]) => {
    const child = spawn(process.execPath, ["--import", "tsx", fileURLToPath(new URL("./ledger-writer.crash-child.ts", import.meta.url)), dir, String(count), ...more], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes(`acked ${count}`)) child.kill("SIGKILL");
    });
    const exit = await new Promise<NodeJS.Signals | null>((resolve) => child.on("exit", (_code, signal) => resolve(signal)));
    expect(exit).toBe("SIGKILL");
  };

  it("survives SIGKILL mid-write and mid-commit: every acknowledged record is committed or replayed", async () => {
    const files = await mkdtemp(path.join(tmpdir(), "sb-ledger-crash-"));
    try {
      await crashAfterAcks(300, path.join(files, "committed"), path.join(files, "acked"));
      const lines = async (name: string) => (await readFile(path.join(files, name), "utf8")).trimEnd().split("\n");
      // What the child committed before it died is in "Postgres" already.
      const committed = await lines("committed");
      expect(committed.length).toBeGreaterThan(0);
      for (const callId of committed) store.rows.set(`${callId}/1`, ledgerRecord({ callId }));
      const w = await writer();
      await w.flush();
      const acked = await lines("acked");
      expect(acked.length).toBeGreaterThanOrEqual(300);
      expect(acked.filter((callId) => !store.rows.has(`${callId}/1`))).toEqual([]);
      // A write the kill cut is at most a torn last line, never an unreadable one.
      expect(store.deadLetters).toEqual([]);
      expect(logs.lines().filter((l) => l.level === "warn" && l.msg !== "ignoring the unacknowledged last line of a ledger buffer file")).toEqual([]);
    } finally {
      await rm(files, { recursive: true, force: true });
    }
  }, 20_000);

  it("survives SIGKILL before a flush: a restart replays every acknowledged record exactly once", async () => {
    await crashAfterAcks(40);
    const w = await writer();
    await w.flush();
    expect(store.rows.size).toBe(40);
    await w.close();
    // A second restart finds nothing left to replay.
    const again = await writer();
    expect(again.pending()).toBe(0);
    expect(store.rows.size).toBe(40);
  }, 20_000);
});

describe("ledger writer bounds, backoff and lifecycle", () => {
  it("has capacity while fewer than maxPendingRows records wait, and none from exactly that many", async () => {
    const w = await writer({ maxPendingRows: 3 });
    store.failWith = new Error("connect ECONNREFUSED");
    await w.append(records(2));
    expect(w.hasCapacity()).toBe(true);
    await w.append(records(1, "third"));
    expect(w.pending()).toBe(3);
    expect(w.hasCapacity()).toBe(false);
  });

  it("commits a file holding more than batchRows records in batches of batchRows, each record once", async () => {
    const w = await writer({ batchRows: 2 });
    await w.append(records(5));
    await w.flush();
    expect([...store.rows.keys()].sort()).toEqual(["c-0/1", "c-1/1", "c-2/1", "c-3/1", "c-4/1"]);
    expect(store.inserts).toBe(3);
    expect(w.pending()).toBe(0);
    expect(await segments()).toEqual([]);
  });

  it("replays a file left by an earlier run at start, without waiting for the flush interval", async () => {
    await writeFile(path.join(dir, "ledger-000000000000001-1-0.jsonl"), records(3).map(encodeLedgerLine).join(""));
    const w = await writer({ flushIntervalMs: 60_000 });
    await expect.poll(() => store.rows.size, { timeout: 2000 }).toBe(3);
    await expect.poll(() => w.pending(), { timeout: 2000 }).toBe(0);
  });

  it("dead-letters an unreadable line once, however many flushes follow", async () => {
    await writeFile(path.join(dir, "ledger-000000000000001-1-0.jsonl"), "not json\n");
    const w = await writer();
    await w.flush();
    await w.append(records(1));
    await w.flush();
    expect(store.deadLetters.map((d) => d.record)).toEqual(["not json"]);
  });

  it("keeps the retry delay at maxRetryDelayMs through a long outage", async () => {
    const w = await writer({ flushIntervalMs: 5, maxRetryDelayMs: 20 });
    store.failWith = new Error("connect ECONNREFUSED");
    await w.append(records(1));
    await expect.poll(() => w.retryDelayMs(), { timeout: 2000 }).toBe(20);
    // Several more failed attempts at the cap: the delay stays there.
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(w.retryDelayMs()).toBe(20);
  });

  it("does not retry early while backing off, however many records pile up", async () => {
    let attempts = 0;
    const down = {
      insertBatch: async () => {
        attempts++;
        throw new Error("connect ECONNREFUSED");
      },
      deadLetter: store.deadLetter,
    };
    logs = createLogCapture();
    const w = createLedgerWriter({ store: down, dir, logger: logs.logger }, { flushIntervalMs: 1000, flushRows: 1, maxRetryDelayMs: 60_000 });
    writers.push(w);
    await w.start();
    await w.append(records(1));
    // flushRows reached: one early flush, which fails and backs off (2 s).
    await expect.poll(() => w.retryDelayMs(), { timeout: 2000 }).toBe(2000);
    expect(attempts).toBe(1);
    for (let i = 0; i < 10; i++) await w.append(records(1, `more${i}`));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(attempts).toBe(1);
    expect(w.pending()).toBe(11);
  });

  it("gets capacity back as soon as an append reaches the disk again", async () => {
    const w = await writer();
    await w.append(records(1, "before"));
    await w.flush(); // the next append needs a new buffer file
    await rm(dir, { recursive: true, force: true });
    await w.append(records(1, "failed"));
    expect(w.hasCapacity()).toBe(false);
    await (await import("node:fs/promises")).mkdir(dir, { recursive: true });
    await w.append(records(1, "after"));
    expect(w.hasCapacity()).toBe(true);
  });

  it("once closed: no capacity, appends refused", async () => {
    const w = await writer();
    await w.close();
    expect(w.hasCapacity()).toBe(false);
    await expect(w.append(records(1))).rejects.toThrow(/closed/);
    expect(store.rows.size).toBe(0);
  });

  it("gives up its folder's lock at close when everything is committed, and keeps it when records are left", async () => {
    const lock = path.join(dir, "ledger.lock");
    const exists = () => readFile(lock).then(() => true, () => false);
    const clean = await writer();
    await clean.append(records(1));
    expect(await exists()).toBe(true);
    await clean.close();
    expect(await exists()).toBe(false);
    const left = await writer();
    await left.append(records(1, "left"));
    store.failWith = new Error("connect ECONNREFUSED");
    await left.close();
    expect(await exists()).toBe(true);
    expect(JSON.parse(await readFile(lock, "utf8"))).toMatchObject({ pid: process.pid });
  });
});
