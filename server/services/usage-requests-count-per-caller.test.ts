/**
 * Differential: every figure of QueryUsage equals a sum computed here over the ledger rows
 * inserted, for random ledgers, filters and groupings. `requests` is the number of logical
 * requests: one RPC of one caller (key) has one request id, however many model calls, attempts
 * or cache hits it made. Request ids are the caller's `x-request-id` when well-formed, so two
 * callers — of two orgs, or two apps of one org — numbering their requests 1, 2, 3 … are still
 * different requests: a platform report must not merge org A's request "1" with org B's.
 */
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { createContextValues, type HandlerContext } from "@connectrpc/connect";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { Verb } from "../../gen/ts/switchboard/v1/common_pb.js";
import { Scope } from "../../gen/ts/switchboard/v1/options_pb.js";
import { QueryUsageRequestSchema, TimeBucket, UsageDimension, type QueryUsageResponse } from "../../gen/ts/switchboard/v1/usage_service_pb.js";
import { useMigratedDatabase } from "../../test/support/migrated-database.js";
import { testPrincipal } from "../../test/support/principal.js";
import { kPrincipal } from "../interceptors/context-keys.js";
import { ledgerRecord } from "../limits/ledger-testing.js";
import type { KeyStore } from "../store/key-store.js";
import type { TenantStore } from "../store/tenant-store.js";
import { createUsageStore, type UsageRecordRow, type UsageStore } from "../store/usage-store.js";
import { createUsageService } from "./usage-service.js";

let usage: UsageStore;
const database = useMigratedDatabase();
beforeAll(() => {
  usage = createUsageStore(database().db);
});

const admin = testPrincipal({ orgId: "org_x", teamId: "team_x", keyId: "key_x", scopes: new Set([Scope.PLATFORM_ADMIN]) });
const ctx = { values: createContextValues().set(kPrincipal, admin) } as unknown as HandlerContext;
const service = () => createUsageService({ usage, tenants: {} as TenantStore, keys: {} as KeyStore });

/** Each run its own window, so runs never see each other's rows. */
const windowOf = (run: number) => {
  const start = Date.UTC(2027, 0, 1) + run * 10 * 86_400_000;
  return { start, end: start + 3 * 86_400_000 };
};

const query = async (run: number, over: MessageInitShape<typeof QueryUsageRequestSchema> = {}): Promise<QueryUsageResponse> => {
  const w = windowOf(run);
  const req = create(QueryUsageRequestSchema, { parent: "", startTime: timestampFromDate(new Date(w.start)), endTime: timestampFromDate(new Date(w.end)), pageSize: 10_000, ...over });
  return (await service().queryUsage(req, ctx)) as QueryUsageResponse;
};

/** The figures of `rows` as QueryUsage defines them, computed here. */
function expected(rows: readonly UsageRecordRow[]) {
  const sum = (f: (r: UsageRecordRow) => number | bigint) => rows.reduce((a, r) => a + BigInt(f(r)), 0n);
  return {
    requests: BigInt(new Set(rows.map((r) => `${r.keyId}\u0000${r.requestId}`)).size),
    attempts: BigInt(rows.filter((r) => r.attempt > 0).length),
    inputTokens: sum((r) => r.inputTokens),
    outputTokens: sum((r) => r.outputTokens),
    cachedInputTokens: sum((r) => r.cachedInputTokens),
    reasoningTokens: sum((r) => r.reasoningTokens),
    costMicrosUsd: sum((r) => r.costMicros),
    cacheHits: BigInt(rows.filter((r) => r.attempt === 0).length),
  };
}
const plain = (t: object | undefined) => ({ ...(t as Record<string, unknown>), $typeName: undefined });

describe("QueryUsage counts requests per caller", () => {
  it("does not merge two orgs' requests that carry the same x-request-id", async () => {
    const run = 0;
    const at = new Date(windowOf(run).start + 3_600_000);
    // Org A and org B each make two requests, numbered 1 and 2 by their own clients.
    const rows = [
      ledgerRecord({ callId: "a1", requestId: "1", orgId: "org_a", teamId: "team_a", keyId: "key_a", occurredAt: at }),
      ledgerRecord({ callId: "a2", requestId: "2", orgId: "org_a", teamId: "team_a", keyId: "key_a", occurredAt: at }),
      ledgerRecord({ callId: "b1", requestId: "1", orgId: "org_b", teamId: "team_b", keyId: "key_b", occurredAt: at }),
      ledgerRecord({ callId: "b2", requestId: "2", orgId: "org_b", teamId: "team_b", keyId: "key_b", occurredAt: at }),
    ];
    await usage.insertBatch(rows);
    const byOrg = await query(run, { groupBy: [UsageDimension.ORG] });
    expect({
      perOrg: byOrg.rows.map((r) => [r.group.org, r.totals?.requests]),
      total: byOrg.totals?.requests,
      sumOfOrgs: byOrg.rows.reduce((a, r) => a + r.totals!.requests, 0n),
    }).toEqual({ perOrg: [["org_a", 2n], ["org_b", 2n]], total: 4n, sumOfOrgs: 4n });
  });

  it("reports every figure equal to the ledger rows it covers, for any filter and grouping (property)", async () => {
    const arbRow = fc.record({
      org: fc.constantFrom("org_a", "org_b"),
      key: fc.constantFrom("k1", "k2"),
      request: fc.constantFrom("1", "2", "3"),
      attempt: fc.integer({ min: 0, max: 3 }),
      model: fc.constantFrom("m1", "m2"),
      provider: fc.constantFrom("openai", "anthropic"),
      verb: fc.constantFrom("chat", "summarize"),
      tag: fc.constantFrom("x", "y", undefined),
      minute: fc.integer({ min: -60, max: 3 * 24 * 60 + 60 }),
      input: fc.nat({ max: 1000 }),
      output: fc.nat({ max: 1000 }),
      cached: fc.nat({ max: 100 }),
      reasoning: fc.nat({ max: 100 }),
      cost: fc.bigInt({ min: 0n, max: 10n ** 12n }),
    });
    const arbFilter = fc.record({
      models: fc.subarray(["m1", "m2"]),
      providers: fc.subarray(["openai", "anthropic"]),
      verbs: fc.subarray(["chat", "summarize"]),
      tag: fc.constantFrom(undefined, "x", "y"),
    });
    let run = 1;
    await fc.assert(
      fc.asyncProperty(fc.array(arbRow, { minLength: 1, maxLength: 30 }), arbFilter, async (spec, filter) => {
        const r = run++;
        const w = windowOf(r);
        const rows = spec.map((s, i) =>
          ledgerRecord({
            callId: `p${r}-${i}`,
            attempt: s.attempt,
            requestId: s.request,
            orgId: s.org,
            teamId: `${s.org}-team`,
            // A key belongs to one org.
            keyId: `${s.org}-${s.key}`,
            model: s.model,
            provider: s.provider,
            verb: s.verb,
            tags: s.tag === undefined ? {} : { f: s.tag },
            inputTokens: s.input,
            outputTokens: s.output,
            cachedInputTokens: s.cached,
            reasoningTokens: s.reasoning,
            costMicros: s.cost,
            occurredAt: new Date(w.start + s.minute * 60_000),
          }),
        );
        await usage.insertBatch(rows);
        const verbProto = { chat: Verb.CHAT, summarize: Verb.SUMMARIZE } as const;
        const kept = rows.filter(
          (row) =>
            row.occurredAt.getTime() >= w.start &&
            row.occurredAt.getTime() < w.end &&
            (filter.models.length === 0 || filter.models.includes(row.model)) &&
            (filter.providers.length === 0 || filter.providers.includes(row.provider)) &&
            (filter.verbs.length === 0 || filter.verbs.includes(row.verb)) &&
            (filter.tag === undefined || row.tags.f === filter.tag),
        );
        const usageFilter = {
          models: filter.models,
          providers: filter.providers,
          verbs: filter.verbs.map((v) => verbProto[v as keyof typeof verbProto]),
          tags: (filter.tag === undefined ? {} : { f: filter.tag }) as Record<string, string>,
        };
        const res = await query(r, { groupBy: [UsageDimension.ORG, UsageDimension.TAG], groupByTag: "f", bucket: TimeBucket.HOUR, filter: usageFilter });
        expect(plain(res.totals)).toEqual(plain(expected(kept)));
        // Each row: its own hour (UTC) and values, with the figures of exactly its ledger rows.
        const groups = new Map<string, UsageRecordRow[]>();
        for (const row of kept) {
          const hour = Math.floor(row.occurredAt.getTime() / 3_600_000) * 3_600_000;
          const k = `${hour}|${row.orgId}|${row.tags.f ?? ""}`;
          groups.set(k, [...(groups.get(k) ?? []), row]);
        }
        const got = new Map(res.rows.map((g) => [`${Number(g.bucketStartTime!.seconds) * 1000}|${g.group.org}|${g.group.tag}`, plain(g.totals)]));
        expect(got).toEqual(new Map([...groups].map(([k, v]) => [k, plain(expected(v))])));
      }),
      { numRuns: 25 },
    );
  });
});
