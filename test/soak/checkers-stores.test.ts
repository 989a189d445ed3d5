import { describe, expect, it } from "vitest";
import type { TableStats } from "../../server/store/table-stats.js";
import { checkLogBytes, checkPostgresGrowth, checkRedisKeys } from "./checkers-stores.js";
import type { StoreSample } from "./store-samples.js";

const table = (name: string, bytes: number, liveTuples = 10, deadTuples = 0, updated = 0): TableStats => ({ name, bytes, liveTuples, deadTuples, inserted: liveTuples, updated, deleted: 0 });

/** `n` samples, 10 s apart; `at(i)` gives sample i's key count (`markers` of them hold markers) and tables. */
const series = (n: number, at: (i: number) => { keys: number; markers?: number; tables: TableStats[] }): StoreSample[] =>
  Array.from({ length: n }, (_, i) => ({ t: i * 10_000, redisKeys: at(i).keys, holdMarkers: at(i).markers ?? 0, tables: at(i).tables }));

const HOUR = 3_600_000;

describe("P24 Redis key count", () => {
  const tombstones = new Map([...Array.from({ length: 30 }, (_, i): [string, number] => [`sb:budget-hold:{org_1}:${i}`, 23 * HOUR]), ["sb:ratelimit:{org_1}:k", 60_000]]);

  it("passes a count that levels off, and fails one that keeps rising", () => {
    // Levels off at ≈ 1,000 after the first third (the TTLs turning over), with noise.
    const level = series(100, (i) => ({ keys: Math.min(1000, 30 * i) + (i % 7) * 10, tables: [] }));
    const flat = checkRedisKeys(level, tombstones, true);
    expect([flat.status, flat.figure]).toEqual([
      "pass",
      expect.stringMatching(/^70 samples after warm-up: keys other than hold markers peak 1060 in the first half and 1060 in the second \(bound 1\.5× \+ 50\); at the end \d+ keys, 30 of them hold markers \(tombstones of reserves lost to a hung Redis\), the longest-lived 23\.0 h \(bound 24 h\)$/) as unknown,
    ]);
    const rising = series(100, (i) => ({ keys: 20 * i, tables: [] }));
    expect(checkRedisKeys(rising, tombstones, true).status).toBe("fail");
    // A short run only reports it.
    const short = checkRedisKeys(rising, tombstones, false);
    expect([short.status, short.figure]).toEqual(["pass", expect.stringContaining("reported only: short run") as unknown]);
  });

  it("counts hold markers apart from the level, and holds them to their 24-hour TTL", () => {
    // Other keys level off at 500 while tombstones rise by 20 a sample: bounded.
    const withTombstones = series(100, (i) => ({ keys: 500 + 20 * i, markers: 20 * i, tables: [] }));
    expect(checkRedisKeys(withTombstones, tombstones, true).status).toBe("pass");
    // A marker left with a reservation's 400-day TTL (a hold nobody settled or swept), or none.
    const stranded = new Map([...tombstones, ["sb:budget-hold:{org_1}:stranded", 400 * 24 * HOUR]]);
    expect(checkRedisKeys(withTombstones, stranded, true).status).toBe("fail");
    expect(checkRedisKeys(withTombstones, new Map([["sb:budget-hold:{org_1}:x", -1]]), true).status).toBe("fail");
  });

  it("does not hold a late Redis hang's tombstones to the key count's level, nor let them hide other keys rising", () => {
    // Other keys flat at 500; a hang in the second half leaves 2,000 tombstones at once.
    const lateHang = series(100, (i) => ({ keys: 500 + (i < 65 ? 0 : 2000), markers: i < 65 ? 0 : 2000, tables: [] }));
    expect(checkRedisKeys(lateHang, tombstones, true)).toMatchObject({ status: "pass", figure: expect.stringContaining("peak 500 in the first half and 500 in the second") as unknown });
    // Tombstones expiring as other keys rise: the total stays at 1,000, the other keys go 200 → 900.
    const hidden = series(100, (i) => ({ keys: 1000, markers: i < 65 ? 800 : 100, tables: [] }));
    expect(checkRedisKeys(hidden, tombstones, true)).toMatchObject({ status: "fail", figure: expect.stringContaining("peak 200 in the first half and 900 in the second") as unknown });
  });

  it("fails without enough samples to tell", () => {
    expect(checkRedisKeys(series(3, () => ({ keys: 5, tables: [] })), tombstones, false).status).toBe("fail");
  });
});

describe("P24 Postgres growth", () => {
  const fixed = [table("keys", 98_304, 4), table("budgets", 65_536, 2)];

  it("lets the ledger and the request log grow and holds everything else to its size after warm-up", () => {
    const run = series(20, (i) => ({ keys: 0, tables: [table("usage_records", 600 * 1000 * (i + 1), 1000 * (i + 1)), table("request_log_p20261130", 1_000_000 * (i + 1), 2000 * (i + 1)), ...fixed] }));
    const ok = checkPostgresGrowth(run);
    expect([ok.status, ok.figure]).toEqual(["pass", "ledger 600 B per row over 20000 rows (bound 2048); other tables 160 → 160 KB after warm-up (bound +1024 KB), 0 of their rows updated or deleted; dead rows at most 0.0 % (none) of a table of ≥ 1,000 rows (bound 20 %); 0 rows deleted from the ledger and the request log (bound 0)"]);
  });

  it("fails without the ledger's table (no bytes per row to bound), and a row deleted from the ledger", () => {
    const noLedger = checkPostgresGrowth(series(20, () => ({ keys: 0, tables: [...fixed] })));
    expect([noLedger.status, noLedger.figure]).toEqual(["fail", expect.stringMatching(/^ledger Infinity B per row over 0 rows/) as unknown]);
    const deleted = series(20, (i) => ({ keys: 0, tables: [{ ...table("usage_records", 600 * 1000 * (i + 1), 1000 * (i + 1)), deleted: i === 19 ? 1 : 0 }, ...fixed] }));
    expect(checkPostgresGrowth(deleted)).toMatchObject({ status: "fail", figure: expect.stringContaining("1 rows deleted from the ledger and the request log (bound 0)") as unknown });
  });

  it("fails a table a request should not grow, a fat ledger row, or a table a fifth dead", () => {
    const ledger = (i: number) => table("usage_records", 600 * 1000 * (i + 1), 1000 * (i + 1));
    // The keys table rewritten on every call: 100 KB more per sample.
    const updated = series(20, (i) => ({ keys: 0, tables: [ledger(i), table("keys", 98_304 + 100_000 * i, 4, 50, 1000 * i), fixed[1]!] }));
    const grew = checkPostgresGrowth(updated);
    expect([grew.status, grew.figure]).toEqual(["fail", expect.stringMatching(/other tables \d+ → \d+ KB after warm-up \(bound \+1024 KB\) \(most: keys \+1270 KB\), 13000 of their rows updated or deleted/) as unknown]);
    const fat = series(20, (i) => ({ keys: 0, tables: [table("usage_records", 3000 * 1000 * (i + 1), 1000 * (i + 1)), ...fixed] }));
    expect(checkPostgresGrowth(fat).status).toBe("fail");
    // Dead rows at a quarter of a 4,000-row table in one sample after warm-up.
    const bloated = series(20, (i) => ({ keys: 0, tables: [ledger(i), table("budgets", 65_536, 3000, i === 15 ? 1000 : 100), fixed[0]!] }));
    const dead = checkPostgresGrowth(bloated);
    expect([dead.status, dead.figure]).toEqual(["fail", expect.stringContaining("dead rows at most 25.0 % (budgets)") as unknown]);
    // A bulk DELETE on the request log instead of dropping its partitions.
    const deleted = series(20, (i) => ({ keys: 0, tables: [ledger(i), { ...table("request_log_p20261130", 1_000_000, 2000), deleted: i === 19 ? 500 : 0 }, ...fixed] }));
    expect([checkPostgresGrowth(deleted).status, checkPostgresGrowth(deleted).figure]).toEqual(["fail", expect.stringContaining("500 rows deleted from the ledger and the request log") as unknown]);
    // The same table at 100 dead rows in 3,100: within the bound.
    expect(checkPostgresGrowth(series(20, (i) => ({ keys: 0, tables: [ledger(i), table("budgets", 65_536, 3000, 100), fixed[0]!] }))).status).toBe("pass");
  });
});

describe("P24 request-log bytes", () => {
  it("bounds bytes per logged request at 2 KiB", () => {
    expect(checkLogBytes(2048 * 100, 100).status).toBe("pass");
    expect(checkLogBytes(2049 * 100, 100).status).toBe("fail");
    expect(checkLogBytes(0, 0).status).toBe("fail");
  });
});

describe("P24 ledger bytes per row", () => {
  it("allows 2 KiB a row and fails one byte more", () => {
    const run = (perRow: number) => checkPostgresGrowth(series(20, (i) => ({ keys: 0, tables: [table("usage_records", perRow * 1000 * (i + 1), 1000 * (i + 1))] })));
    expect(run(2048).status).toBe("pass");
    expect(run(2049)).toMatchObject({ status: "fail", figure: expect.stringMatching(/^ledger 2049 B per row/) as unknown });
  });
});
