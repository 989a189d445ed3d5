/**
 * Usage reports page by group key, on Postgres and on the embedded PGlite: ledger rows that land
 * between pages (a flush, a new tag value, a new model) must neither repeat nor skip a group of
 * QueryUsage or ExportUsage — with OFFSET paging, a group sorting before the position shifted
 * every later group by one and the group at the page boundary came out twice.
 */
import { create } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createContextValues, type HandlerContext } from "@connectrpc/connect";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { Scope } from "../../gen/ts/switchboard/v1/options_pb.js";
import {
  ExportUsageRequestSchema,
  QueryUsageRequestSchema,
  QueryUsageResponseSchema,
  TimeBucket,
  UsageDimension,
  type QueryUsageRequest,
  type QueryUsageResponse,
} from "../../gen/ts/switchboard/v1/usage_service_pb.js";
import { parseCsv } from "../../test/support/money.js";
import { useMigratedDatabase } from "../../test/support/migrated-database.js";
import { kPrincipal } from "../interceptors/context-keys.js";
import { ledgerRecord } from "../limits/ledger-testing.js";
import type { KeyStore } from "../store/key-store.js";
import type { TenantStore } from "../store/tenant-store.js";
import { createUsageStore, type UsageRecordRow, type UsageStore } from "../store/usage-store.js";
import { createUsageService } from "./usage-service.js";
import { testPrincipal } from "../../test/support/principal.js";

const admin = testPrincipal({ orgId: "org_a", teamId: "team_a", keyId: "key_a", scopes: new Set([Scope.PLATFORM_ADMIN]) });
const ctx = { values: createContextValues().set(kPrincipal, admin) } as unknown as HandlerContext;
const range = { startTime: timestampFromDate(new Date("2026-11-01T00:00:00Z")), endTime: timestampFromDate(new Date("2026-12-01T00:00:00Z")) };
const day = (d: number) => new Date(Date.UTC(2026, 10, d, 12));

/** A group of the reports below: a tag value, a model and a day. */
interface Key {
  tag: string;
  model: string;
  day: number;
}
const keyText = (k: { tag: string; model: string; bucket: string }) => JSON.stringify([k.bucket, k.tag, k.model]);

function describePaging(engine: "postgres" | "pglite"): void {
  const database = useMigratedDatabase({ engine });
  let usage: UsageStore;
  let calls = 0;
  const row = (run: string, k: Key): UsageRecordRow =>
    ledgerRecord({ callId: `${run}-${calls++}`, requestId: run, model: k.model, tags: { feature: k.tag, run }, occurredAt: day(k.day) });

  beforeAll(() => {
    usage = createUsageStore(database().db);
  });

  /** QueryUsage through the service on `usage`, as a full response message. */
  const queryUsage = async (req: QueryUsageRequest): Promise<QueryUsageResponse> =>
    create(QueryUsageResponseSchema, await createUsageService({ usage, tenants: {} as TenantStore, keys: {} as KeyStore }).queryUsage(req, ctx));

  /** QueryUsage of one run's rows by tag, model and day. */
  const queryOf = (run: string, pageSize: number, pageToken = ""): QueryUsageRequest =>
    create(QueryUsageRequestSchema, {
      parent: "",
      ...range,
      groupBy: [UsageDimension.TAG, UsageDimension.MODEL],
      groupByTag: "feature",
      bucket: TimeBucket.DAY,
      filter: { tags: { run } },
      pageSize,
      pageToken,
    });

  it("ExportUsage writes each group once while groups land between its queries", async () => {
    const run = `export-${engine}`;
    // More groups than one export query reads, so the export takes at least two.
    const initial = Array.from({ length: 5001 }, (_, i) => `g${String(i).padStart(5, "0")}`);
    await usage.insertBatch(initial.map((tag) => row(run, { tag, model: "m", day: 2 })));
    let queries = 0;
    const landing: UsageStore = {
      ...usage,
      async aggregate(q) {
        const page = await usage.aggregate(q);
        // After each query, a flush lands a group sorting before everything read so far.
        await usage.insertBatch([row(run, { tag: `a-late-${queries++}`, model: "m", day: 2 })]);
        return page;
      },
    };
    const service = createUsageService({ usage: landing, tenants: {} as TenantStore, keys: {} as KeyStore });
    const req = create(ExportUsageRequestSchema, { query: { parent: "", ...range, groupBy: [UsageDimension.TAG], groupByTag: "feature", filter: { tags: { run } } } });
    let text = "";
    for await (const chunk of service.exportUsage(req, ctx) as AsyncIterable<{ csvChunk: Uint8Array }>) text += new TextDecoder().decode(chunk.csvChunk);
    const tags = parseCsv(text)
      .slice(1)
      .map((r) => r[0]!);
    const repeated = tags.filter((t, i) => tags.indexOf(t) !== i);
    expect(queries).toBeGreaterThan(1);
    expect({ repeated, missing: initial.filter((t) => !tags.includes(t)) }).toEqual({ repeated: [], missing: [] });
  });

  it("QueryUsage pages each group once while groups land between pages (property)", async () => {
    const arbKey = fc.record({ tag: fc.constantFrom("", "a", "b", "c", "é", "Z"), model: fc.constantFrom("m1", "m2", "M"), day: fc.integer({ min: 2, max: 4 }) });
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(arbKey, { minLength: 1, maxLength: 12, selector: (k) => `${k.tag}|${k.model}|${k.day}` }),
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.array(arbKey, { maxLength: 3 }), { maxLength: 8 }),
        async (initial, pageSize, landings) => {
          const run = `query-${engine}-${runs++}`;
          await usage.insertBatch(initial.map((k) => row(run, k)));
          const seen: string[] = [];
          let token = "";
          for (let page = 0; ; page++) {
            const res = await queryUsage(queryOf(run, pageSize, token));
            seen.push(...res.rows.map((r) => keyText({ tag: r.group.tag!, model: r.group.model!, bucket: timestampDate(r.bucketStartTime!).toISOString() })));
            token = res.nextPageToken;
            if (token === "") break;
            await usage.insertBatch((landings[page] ?? []).map((k) => row(run, k)));
          }
          const expected = initial.map((k) => keyText({ ...k, bucket: new Date(Date.UTC(2026, 10, k.day)).toISOString() }));
          expect({ repeated: seen.filter((k, i) => seen.indexOf(k) !== i), missing: expected.filter((k) => !seen.includes(k)) }).toEqual({ repeated: [], missing: [] });
        },
      ),
      { numRuns: 25 },
    );
  });

  it("QueryUsage pages groups whose key is too long for a page token (at most 1024 characters)", async () => {
    const run = `long-${engine}`;
    const tags = ["x", "y", "z"].map((c) => `${c}"\\`.repeat(85) + "é");
    await usage.insertBatch(tags.map((tag) => row(run, { tag, model: "m".repeat(256), day: 3 })));
    const seen: string[] = [];
    let token = "";
    do {
      const res = await queryUsage(queryOf(run, 1, token));
      seen.push(...res.rows.map((r) => r.group.tag!));
      token = res.nextPageToken;
      expect(token.length).toBeLessThanOrEqual(1024);
    } while (token !== "");
    expect(seen).toEqual(tags);
  });

  // A row offset is what tokens held before keys: such a token is refused, not honoured.
  it("QueryUsage refuses a row-offset page token and a malformed key as InvalidArgument", async () => {
    const run = `offset-${engine}`;
    await usage.insertBatch(["a", "b", "c"].map((tag) => row(run, { tag, model: "m", day: 2 })));
    const first = await queryUsage(queryOf(run, 1));
    const { q } = JSON.parse(Buffer.from(first.nextPageToken, "base64url").toString("utf8")) as { q: string };
    const malformed = [
      ["2026-11-02T00:00:00Z", "a", "m"],
      ["0000-11-02T00:00:00.000Z", "a", "m"],
      ["2026-11-02T00:00:00.000Z", "a"],
      ["2026-11-02T00:00:00.000Z", "a\u0000", "m"],
      ["2026-11-02T00:00:00.000Z", "a", 7],
    ].map((key) => JSON.stringify(key));
    for (const after of ["1", "0", "A".repeat(64), ...malformed]) {
      const pageToken = Buffer.from(JSON.stringify({ a: after, q }), "utf8").toString("base64url");
      const err = await queryUsage(queryOf(run, 1, pageToken)).catch((e: unknown) => e);
      expect([after, err instanceof ConnectError ? Code[err.code] : "ok"]).toEqual([after, "InvalidArgument"]);
    }
  });
}

describe("usage report paging on Postgres", () => describePaging("postgres"));
describe("usage report paging on PGlite", () => describePaging("pglite"));
