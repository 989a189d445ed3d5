/**
 * The multi-replica fault soak in its short mode (issue #11): three gateway processes, Postgres
 * and Redis behind fault proxies, the provider fakes, a kill -9, a provider storm, a hung Redis, a
 * Postgres cut and a SIGTERM drain under load — then one test per property over the recorded
 * history (RELIABILITY.md §6). `node --import tsx test/soak/run.ts` prints the same table;
 * `SOAK_MODE=long SOAK_SECONDS=600` runs the long mode there.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireEnv } from "../support/require-env.js";
import type { PropertyRow } from "./property-row.js";
import { runSoak, type SoakReport } from "./soak.js";

let report: SoakReport;

beforeAll(async () => {
  requireEnv("DATABASE_URL");
  requireEnv("REDIS_URL");
  report = await runSoak({ mode: "short", seconds: 60 });
}, 240_000);
afterAll(() => {
  if (report !== undefined) console.log(report.table);
});

/** The rows in the order the soak reports them; each becomes one test. */
const PROPERTIES: Array<[string, string]> = [
  ["P1", "spend ≤ cap (small budget, 3 replicas)"],
  ["P2/P3/P4", "ledger == truth log, per attempt"],
  ["P2", "no duplicated call or attempt"],
  ["P5", "RPM global across replicas"],
  ["P6", "no Redis key without a TTL"],
  ["P7", "Redis hung: calls bounded, fail closed"],
  ["P9", "attempts per call bounded"],
  ["P12", "every op ends within its deadline"],
  ["P13", "stalled streams cut and failed over"],
  ["P14", "no spliced stream, no clean truncated success"],
  ["P16", "kill -9: other replicas' clients unaffected"],
  ["P16", "SIGTERM: in-flight requests drain, exit in time"],
  ["P16", "open reservations return to 0"],
  ["P23", "in-flight cap sheds at once"],
  ["P24", "memory flat after warm-up"],
  ["P24", "event-loop lag p99 < 50 ms"],
  ["P24", "request-log bytes per request"],
  ["P24", "Redis key count bounded"],
  ["P24", "Postgres growth bounded"],
];

describe("fault soak, short mode (3 replicas, RELIABILITY §5)", () => {
  it("reports every property it checks, and nothing else", () => {
    expect(report.rows.map((r) => [r.id, r.name])).toEqual(PROPERTIES);
  });

  for (const [id, name] of PROPERTIES) {
    it(`${id}: ${name}`, () => {
      const found: PropertyRow | undefined = report.rows.find((r) => r.id === id && r.name === name);
      expect(found, `${id} ${name} missing from the report`).toBeDefined();
      expect(found!.status, [found!.figure, ...(found!.evidence ?? [])].join("\n")).toBe("pass");
    });
  }
});
