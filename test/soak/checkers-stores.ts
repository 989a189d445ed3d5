/**
 * P24's store checks over what `store-samples.ts` recorded and `collect.ts` read: the Redis key
 * count stays bounded, Postgres grows only by the rows a request is meant to add (the usage
 * ledger, the request log) and no table carries a fifth of dead rows, and the request log's
 * bytes per request.
 */
import type { TableStats } from "../../server/store/table-stats.js";
import { row, type PropertyRow } from "./property-row.js";
import type { StoreSample } from "./store-samples.js";

/** Tables a request appends to by design: the usage ledger and the request log's partitions. */
const appendOnly = (name: string) => name === "usage_records" || name === "request_log" || name.startsWith("request_log_p");

/** The samples after warm-up (the first 30 %, as for memory). */
const afterWarmUp = (samples: readonly StoreSample[]): StoreSample[] => samples.slice(Math.floor(samples.length * 0.3));

/** How long a budget-hold marker may outlive its call: a tombstone's or a swept hold's 24 hours. */
const MARKER_TTL_MS = 86_400_000;

/**
 * P24 Redis: the key count after warm-up may not keep rising — the second half's peak at most
 * 1.5× the first half's plus 50 keys. Every key has a TTL (P6), so the count levels off once the
 * longest TTL in use has turned over; a run shorter than that (`bounded` false: the short mode)
 * reports the figure only. Budget-hold markers are counted apart: each call refused because Redis
 * hung leaves a tombstone for 24 hours by design (`reservation-recovery.ts`: the reserve may still
 * land), so a soak that hangs Redis every cycle sees them rise for a day; they are held instead to
 * that TTL, read from every marker left at the end (`ttls`, P6's map).
 */
export function checkRedisKeys(samples: readonly StoreSample[], ttls: ReadonlyMap<string, number>, bounded: boolean): PropertyRow {
  const warm = afterWarmUp(samples);
  const half = Math.floor(warm.length / 2);
  const peak = (xs: readonly StoreSample[]) => xs.reduce((m, s) => Math.max(m, s.redisKeys - s.holdMarkers), 0);
  const first = peak(warm.slice(0, half));
  const second = peak(warm.slice(half));
  const levelled = second <= 1.5 * first + 50;
  let markers = 0;
  let longest = 0;
  for (const [key, ttl] of ttls) {
    if (!key.startsWith("sb:budget-hold:")) continue;
    markers++;
    longest = Math.max(longest, ttl === -1 ? Infinity : ttl);
  }
  const bound = bounded ? "bound 1.5× + 50" : "reported only: short run";
  return row(
    "P24",
    "Redis key count bounded",
    `${warm.length} samples after warm-up: keys other than hold markers peak ${first} in the first half and ${second} in the second (${bound}); at the end ${ttls.size} keys, ${markers} of them hold markers (tombstones of reserves lost to a hung Redis), the longest-lived ${(longest / 3_600_000).toFixed(1)} h (bound 24 h)`,
    warm.length >= 4 && (!bounded || levelled) && longest <= MARKER_TTL_MS,
  );
}

/**
 * P24 Postgres: the usage ledger's bytes per row (≤ 2 KiB: no static blobs per row); every other
 * table — what a request should not grow — within 1 MiB of its size after warm-up; no table of
 * 1,000 rows or more ever more than 20 % dead rows (autovacuum keeping up with what updates and
 * deletes leave behind); and no row deleted from the ledger or the request log. The request log's
 * size has its own row ({@link checkLogBytes}).
 */
export function checkPostgresGrowth(samples: readonly StoreSample[]): PropertyRow {
  const warm = afterWarmUp(samples);
  const start = warm[0];
  const end = samples.at(-1);
  if (start === undefined || end === undefined || warm.length < 2) return row("P24", "Postgres growth bounded", `${samples.length} samples: too few`, false);
  const ledger = end.tables.find((t) => t.name === "usage_records");
  const perRow = ledger === undefined || ledger.liveTuples === 0 ? Infinity : ledger.bytes / ledger.liveTuples;
  const others = (s: StoreSample) => s.tables.filter((t) => !appendOnly(t.name));
  const sum = (ts: readonly TableStats[], f: (t: TableStats) => number) => ts.reduce((a, t) => a + f(t), 0);
  const growth = sum(others(end), (t) => t.bytes) - sum(others(start), (t) => t.bytes);
  const churn = sum(others(end), (t) => t.updated + t.deleted) - sum(others(start), (t) => t.updated + t.deleted);
  const grew = others(end)
    .map((t) => ({ name: t.name, delta: t.bytes - (start.tables.find((s) => s.name === t.name)?.bytes ?? 0) }))
    .filter((d) => d.delta > 0)
    .sort((a, b) => b.delta - a.delta);
  let dead = { share: 0, table: "none" };
  for (const s of warm) {
    for (const t of s.tables) {
      const rows = t.liveTuples + t.deadTuples;
      if (rows >= 1000 && t.deadTuples / rows > dead.share) dead = { share: t.deadTuples / rows, table: t.name };
    }
  }
  // The ledger is never deleted from, and the request log's retention drops whole partitions
  // (RELIABILITY P24: no bulk DELETE), so neither may show a deleted row.
  const appendOnlyDeletes = sum(end.tables.filter((t) => appendOnly(t.name)), (t) => t.deleted);
  const grewNote = grew.length === 0 ? "" : ` (most: ${grew[0]!.name} +${kb(grew[0]!.delta)} KB)`;
  return row(
    "P24",
    "Postgres growth bounded",
    `ledger ${Math.round(perRow)} B per row over ${ledger?.liveTuples ?? 0} rows (bound 2048); other tables ${kb(sum(others(start), (t) => t.bytes))} → ${kb(sum(others(end), (t) => t.bytes))} KB after warm-up (bound +1024 KB)${grewNote}, ${churn} of their rows updated or deleted; dead rows at most ${(dead.share * 100).toFixed(1)} % (${dead.table}) of a table of ≥ 1,000 rows (bound 20 %); ${appendOnlyDeletes} rows deleted from the ledger and the request log (bound 0)`,
    perRow <= 2048 && growth <= 2 ** 20 && dead.share <= 0.2 && appendOnlyDeletes === 0,
  );
}

/** P24 storage: request-log bytes per logged request (metadata mode). */
export function checkLogBytes(bytes: number, requests: number): PropertyRow {
  const per = requests === 0 ? Infinity : bytes / requests;
  return row("P24", "request-log bytes per request", `${Math.round(per)} B per request (${bytes} B / ${requests}; bound 2048)`, per <= 2048);
}

const kb = (bytes: number) => Math.round(bytes / 1024);
