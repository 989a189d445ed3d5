/**
 * What `UsageTotals.requests` means in a grouped report, as usage_service.proto documents it: a
 * row counts each logical request with at least one ledger row in its group, and the response's
 * totals count each request once. One request can touch several groups — a fallback to another
 * provider and model, a semantic-cache lookup's embedding call (verb embed, on the cache's
 * embedding route), calls either side of a bucket boundary — so rows' requests may add up to more
 * than the total; grouped by key (a request is made with one key) they add up exactly, and every
 * other figure, a sum of ledger rows, adds up exactly under any grouping.
 */
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { createContextValues, type HandlerContext } from "@connectrpc/connect";
import { beforeAll, describe, expect, it } from "vitest";
import { Scope } from "../../gen/ts/switchboard/v1/options_pb.js";
import { QueryUsageRequestSchema, TimeBucket, UsageDimension, type QueryUsageResponse } from "../../gen/ts/switchboard/v1/usage_service_pb.js";
import { useMigratedDatabase } from "../../test/support/migrated-database.js";
import { testPrincipal } from "../../test/support/principal.js";
import { kPrincipal } from "../interceptors/context-keys.js";
import { ledgerRecord } from "../limits/ledger-testing.js";
import type { KeyStore } from "../store/key-store.js";
import type { TenantStore } from "../store/tenant-store.js";
import { createUsageStore, type UsageStore } from "../store/usage-store.js";
import { createUsageService } from "./usage-service.js";

let usage: UsageStore;
const database = useMigratedDatabase();
beforeAll(async () => {
  usage = createUsageStore(database().db);
  const noon = new Date("2026-11-10T12:00:00.000Z");
  const justBefore = new Date("2026-11-10T11:59:59.999Z");
  await usage.insertBatch([
    // Request r1: the semantic cache's embedding call, admitted just before the hour…
    ledgerRecord({ callId: "r1-embed", attempt: 1, requestId: "r1", verb: "embed", route: "embeddings", provider: "openai", model: "text-embedding-3-small", costMicros: 1n, occurredAt: justBefore }),
    // …then its chat call: OpenAI fails, the fallback to Anthropic answers.
    ledgerRecord({ callId: "r1-chat", attempt: 1, requestId: "r1", outcome: "unavailable", provider: "openai", model: "gpt-4o", costMicros: 0n, occurredAt: noon }),
    ledgerRecord({ callId: "r1-chat", attempt: 2, requestId: "r1", provider: "anthropic", model: "claude-sonnet", costMicros: 30n, occurredAt: noon }),
    // Request r2: one chat call, answered at once.
    ledgerRecord({ callId: "r2-chat", attempt: 1, requestId: "r2", provider: "openai", model: "gpt-4o", costMicros: 20n, occurredAt: noon }),
  ]);
});

const admin = testPrincipal({ orgId: "org_a", teamId: "team_a", keyId: "key_a", scopes: new Set([Scope.PLATFORM_ADMIN]) });
const ctx = { values: createContextValues().set(kPrincipal, admin) } as unknown as HandlerContext;
const range = { startTime: timestampFromDate(new Date("2026-11-01T00:00:00Z")), endTime: timestampFromDate(new Date("2026-12-01T00:00:00Z")) };

const report = async (groupBy: UsageDimension[], bucket = TimeBucket.UNSPECIFIED) => {
  const service = createUsageService({ usage, tenants: {} as TenantStore, keys: {} as KeyStore });
  const res = (await service.queryUsage(create(QueryUsageRequestSchema, { parent: "", ...range, groupBy, bucket }), ctx)) as QueryUsageResponse;
  const label = (r: QueryUsageResponse["rows"][number]) => [r.bucketStartTime === undefined ? "" : new Date(Number(r.bucketStartTime.seconds) * 1000).toISOString().slice(11, 16), ...Object.values(r.group)].filter((v) => v !== "").join("/");
  return {
    requests: Object.fromEntries(res.rows.map((r) => [label(r), r.totals!.requests])),
    totalRequests: res.totals!.requests,
    costAddsUp: res.rows.reduce((a, r) => a + r.totals!.costMicrosUsd, 0n) === res.totals!.costMicrosUsd,
    attemptsAddUp: res.rows.reduce((a, r) => a + r.totals!.attempts, 0n) === res.totals!.attempts,
  };
};

describe("QueryUsage counts a request in every group it touched, and once in the totals", () => {
  const additive = { totalRequests: 2n, costAddsUp: true, attemptsAddUp: true };
  it("by model, provider, verb and route: a fallback and a semantic-cache embedding put one request in several rows", async () => {
    expect(await report([UsageDimension.MODEL])).toEqual({ requests: { "claude-sonnet": 1n, "gpt-4o": 2n, "text-embedding-3-small": 1n }, ...additive });
    expect(await report([UsageDimension.PROVIDER])).toEqual({ requests: { anthropic: 1n, openai: 2n }, ...additive });
    expect(await report([UsageDimension.VERB])).toEqual({ requests: { chat: 2n, embed: 1n }, ...additive });
    expect(await report([UsageDimension.ROUTE])).toEqual({ requests: { default: 2n, embeddings: 1n }, ...additive });
  });

  it("by time bucket: calls of one request either side of a boundary count it in both buckets", async () => {
    expect(await report([], TimeBucket.HOUR)).toEqual({ requests: { "11:00": 1n, "12:00": 2n }, ...additive });
  });

  it("by key: a request is made with one key, so the rows add up to the total", async () => {
    expect(await report([UsageDimension.KEY])).toEqual({ requests: { "key_a": 2n }, ...additive });
  });
});
