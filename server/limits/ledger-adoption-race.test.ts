import * as fsp from "node:fs/promises";
import { mkdir, mkdtemp, readdir, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createLogCapture } from "../../test/support/log-capture.js";
import { encodeLedgerLine } from "./ledger-codec.js";
import { adoptOrphanedLedgers } from "./ledger-adoption.js";
import { ledgerRecord, memoryLedgerStore, type MemoryLedgerStore } from "./ledger-testing.js";

vi.mock("node:fs/promises", async (importOriginal) => {
  const real = await importOriginal<typeof import("node:fs/promises")>();
  return { ...real, default: real, readFile: vi.fn(real.readFile), rm: vi.fn(real.rm), rename: vi.fn(real.rename) };
});
const real = await vi.importActual<typeof import("node:fs/promises")>("node:fs/promises");

let root: string;
let store: MemoryLedgerStore;
beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), "sb-ledger-adopt-race-"));
  store = memoryLedgerStore();
});
afterEach(async () => {
  vi.mocked(fsp.readFile).mockImplementation(real.readFile as typeof fsp.readFile);
  vi.mocked(fsp.rm).mockImplementation(real.rm);
  vi.mocked(fsp.rename).mockImplementation(real.rename);
  await real.rm(root, { recursive: true, force: true });
});

// Two replicas adopt at once. Replica C listed B's freshly claimed folder `dead.adopted-1` and
// read its lock while it still named the dead owner (B renames, then writes its own lock); C's
// rename lands after B wrote its lock, so C's re-check finds B alive and renames the folder back.
// While the folder was away, B's `readFile` got ENOENT, which replayFolder takes for "finished by
// an earlier pass" and skips — then B removes the folder, recursively, with the file back in it.
describe("adoption racing another adopter's claim-and-undo", () => {
  it("never removes a buffer file whose records it did not commit", async () => {
    const dead = path.join(root, "dead");
    await mkdir(dead);
    await writeFile(path.join(dead, "ledger.lock"), "999999999");
    await writeFile(path.join(dead, "ledger-000000000000001-1-0.jsonl"), [0, 1, 2].map((i) => encodeLedgerLine(ledgerRecord({ callId: `race-${i}` }))).join(""));
    let away: { from: string; to: string } | undefined;
    vi.mocked(fsp.readFile).mockImplementation((async (file: string, opts: unknown) => {
      if (typeof file === "string" && file.includes(".adopted-") && file.endsWith(".jsonl") && away === undefined) {
        // Replica C: claims the folder B is replaying (rename), then finds B's lock and undoes it.
        const from = path.dirname(file);
        away = { from, to: `${from.split(".adopted-")[0]}.adopted-c` };
        await rename(away.from, away.to);
      }
      return real.readFile(file, opts as "utf8");
    }) as typeof fsp.readFile);
    vi.mocked(fsp.rm).mockImplementation(async (p, opts) => {
      if (away !== undefined) await rename(away.to, away.from).catch(() => undefined); // C's rename back
      return real.rm(p, opts);
    });
    const outcome = await adoptOrphanedLedgers({ store, root, self: path.join(root, "me"), logger: createLogCapture().logger }).then(
      (r) => r,
      (e: unknown) => String(e),
    );
    const committed = [...store.rows.keys()].sort();
    const leftOnDisk = (await readdir(root, { recursive: true })).filter((n) => n.endsWith(".jsonl"));
    // Either B committed the records, or the file is still on disk for a later pass.
    expect({ outcome, committed: committed.length > 0 || leftOnDisk.length > 0 }).toMatchObject({ committed: true });
  });
});

describe("adoption's claim of a folder", () => {
  const deadFolder = async (name: string, callId: string) => {
    const dir = path.join(root, name);
    await mkdir(dir);
    await writeFile(path.join(dir, "ledger.lock"), "999999999");
    await writeFile(path.join(dir, "ledger-000000000000001-1-0.jsonl"), encodeLedgerLine(ledgerRecord({ callId })));
    return dir;
  };
  const adopt = () => adoptOrphanedLedgers({ store, root, self: path.join(root, "me"), logger: createLogCapture().logger });

  it("never moves the folder of a live replica, not even for a moment", async () => {
    const live = path.join(root, "live");
    await mkdir(live);
    await writeFile(path.join(live, "ledger.lock"), JSON.stringify({ pid: process.ppid, host: (await import("node:os")).hostname() }));
    await writeFile(path.join(live, "ledger-000000000000001-1-0.jsonl"), encodeLedgerLine(ledgerRecord({ callId: "live" })));
    const renamed: string[] = [];
    vi.mocked(fsp.rename).mockImplementation(async (from, to) => {
      renamed.push(String(from));
      return real.rename(from, to);
    });
    expect(await adopt()).toEqual({ adopted: 0, records: 0 });
    expect(renamed).toEqual([]);
    expect(store.rows.size).toBe(0);
  });

  // Between reading the lock and the rename, the folder's owner came back (or another adopter
  // claimed it and wrote its lock): the claim is undone and nothing of it is committed or removed.
  it("gives a folder back when the lock it finds after claiming it names a live process", async () => {
    const dir = await deadFolder("dead", "came-back");
    vi.mocked(fsp.rename).mockImplementation(async (from, to) => {
      await real.rename(from, to);
      if (String(from) === dir) await real.writeFile(path.join(String(to), "ledger.lock"), JSON.stringify({ pid: process.ppid, host: (await import("node:os")).hostname() }));
    });
    expect(await adopt()).toEqual({ adopted: 0, records: 0 });
    expect(store.rows.size).toBe(0);
    expect(await readdir(root)).toEqual(["dead"]);
    expect((await readdir(dir)).sort()).toEqual(["ledger-000000000000001-1-0.jsonl", "ledger.lock"]);
  });

  it("skips a folder another replica claimed first and goes on with the others", async () => {
    const first = await deadFolder("a-dead", "won-by-other");
    await deadFolder("b-dead", "mine");
    vi.mocked(fsp.rename).mockImplementation(async (from, to) => {
      if (String(from) === first) await real.rename(first, `${first}.adopted-other`); // the other replica's claim lands first
      return real.rename(from, to);
    });
    expect(await adopt()).toEqual({ adopted: 1, records: 1 });
    expect([...store.rows.keys()]).toEqual(["mine/1"]);
    expect(await readdir(root)).toEqual(["a-dead.adopted-other"]);
  });
});
