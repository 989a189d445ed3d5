import { toJsonString } from "@bufbuild/protobuf";
import { timestampFromDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import {
  ExportUsageResponseSchema,
  QueryUsageRequestSchema,
  ListUsageRecordsRequestSchema,
  UsageService,
  type QueryUsageRequest,
  type UsageFilter,
} from "../../gen/ts/switchboard/v1/usage_service_pb.js";
import { create } from "@bufbuild/protobuf";
import { orgScopeOf, requirePlatformAdmin } from "../auth/access.js";
import { fieldViolation } from "../errors/field-violation.js";
import type { KeyStore } from "../store/key-store.js";
import type { OrgScope } from "../store/paging.js";
import type { TenantStore } from "../store/tenant-store.js";
import { isUsageCursor, isUsageGroupCursor, type UsageAggregateQuery, type UsageDimensionName, type UsageGroupCursors, type UsageGroupRow, type UsageRange, type UsageStore } from "../store/usage-store.js";
import { callerOf } from "./caller.js";
import { invalidPageToken, nextPageToken, pageRequest } from "./page-token.js";
import { parseKeyName, parseOrgName, parseTeamName } from "./resource-names.js";
import { checkedTimestamp } from "./timestamp-field.js";
import { createChunker, csvRecord } from "./usage-csv.js";
import { BUCKET_NAME, DIMENSION_NAME, recordMessage, resourceNamer, totalsMessage, VERB_NAME } from "./usage-messages.js";

/** Dependencies of {@link createUsageService}. */
export interface UsageServiceDeps {
  usage: UsageStore;
  tenants: TenantStore;
  keys: KeyStore;
}

/** Aggregate rows per page (default, most) and per export query. */
const DEFAULT_ROWS = 1000;
const MAX_ROWS = 10_000;
const EXPORT_BATCH = 5000;
const CHUNK_BYTES = 64 * 1024;
/** `QueryUsageRequest.page_token`'s `max_len`: a longer token would be refused by validation. */
const MAX_PAGE_TOKEN_CHARS = 1024;

type Query = Omit<UsageAggregateQuery, "after" | "limit">;

/**
 * A range bound as the ledger compares it: rows carry whole milliseconds, so a bound with
 * sub-millisecond nanos is raised to the next millisecond — `[start, end)` then holds exactly
 * (rounding to the nearest, as `timestampDate` does, counts a row just before `start`). A bound
 * outside a Timestamp's range (the binary form carries any int64) is refused: as a Date it is
 * invalid or before Postgres's first timestamp, and the query would fail as `internal`.
 */
const boundDate = (ts: Timestamp, field: string): Date => {
  checkedTimestamp(ts, field);
  return new Date(Number(ts.seconds) * 1000 + Math.ceil(ts.nanos / 1_000_000));
};

/**
 * `switchboard.v1.UsageService`: reports straight from the ledger, the authority for money, so
 * every total is an exact integer sum of ledger rows (no sampling, no pre-aggregation that could
 * drift). An org's reports are confined to it; `parent` empty (every org) needs
 * `SCOPE_PLATFORM_ADMIN`. Rows reach the ledger within the ledger's flush interval.
 */
export function createUsageService(deps: UsageServiceDeps): ServiceImpl<typeof UsageService> {
  const rangeOf = async (ctx: HandlerContext, parent: string, start: Date, end: Date, filter: UsageFilter | undefined): Promise<UsageRange> => {
    const caller = callerOf(ctx);
    const scope: OrgScope = orgScopeOf(caller);
    let orgId: string | undefined;
    if (parent === "") requirePlatformAdmin(caller, "a report over every org");
    else {
      const org = await deps.tenants.getOrg(parseOrgName(parent, "parent"), scope);
      if (org === undefined) throw new ConnectError(`${parent} not found`, Code.NotFound);
      orgId = org.id;
    }
    const teamIds = await Promise.all(
      (filter?.teams ?? []).map(async (name) => {
        const { orgName, teamName } = parseTeamName(name, "filter.teams");
        const team = await deps.tenants.getTeam(orgName, teamName, scope);
        if (team === undefined) throw new ConnectError(`filter.teams: ${name} not found`, Code.NotFound);
        return team.id;
      }),
    );
    const keyIds = await Promise.all(
      (filter?.keys ?? []).map(async (name) => {
        const key = await deps.keys.getKey(parseKeyName(name, "filter.keys"), scope);
        if (key === undefined) throw new ConnectError(`filter.keys: ${name} not found`, Code.NotFound);
        return key.id;
      }),
    );
    return {
      ...(orgId === undefined ? {} : { orgId }),
      start,
      end,
      filter: {
        teamIds,
        keyIds,
        routes: filter?.routes ?? [],
        models: filter?.models ?? [],
        providers: filter?.providers ?? [],
        verbs: (filter?.verbs ?? []).map((v) => VERB_NAME[v] ?? "unspecified"),
        tags: filter?.tags ?? {},
      },
    };
  };

  const queryOf = async (req: QueryUsageRequest, ctx: HandlerContext, prefix = ""): Promise<Query> => {
    const groupBy = req.groupBy.map((d) => {
      const name = DIMENSION_NAME[d];
      if (name === undefined) throw fieldViolation("group_by", "dimensions must be set", "query_usage.group_by.defined");
      return name;
    });
    if (groupBy.includes("tag") && req.groupByTag === "") throw fieldViolation("group_by_tag", "required when grouping by tag", "query_usage.group_by_tag.required");
    const bucket = BUCKET_NAME[req.bucket];
    const range = await rangeOf(ctx, req.parent, boundDate(req.startTime!, `${prefix}start_time`), boundDate(req.endTime!, `${prefix}end_time`), req.filter);
    return { ...range, groupBy, ...(bucket === undefined ? {} : { bucket }), tagKey: req.groupByTag };
  };

  /** Group values as the API shows them: resource names for org, team and key. */
  const named = async (rows: readonly UsageGroupRow[]) => {
    const ids = (d: UsageDimensionName) => [...new Set(rows.map((r) => r.group[d]).filter((v): v is string => v !== undefined))];
    const name = resourceNamer(await deps.usage.names({ orgIds: ids("org"), teamIds: ids("team"), keyIds: ids("key") }));
    return rows.map((r) => {
      const group: Record<string, string> = {};
      for (const [d, v] of Object.entries(r.group)) group[d] = d === "org" ? name.org(v) : d === "team" ? name.team(v) : d === "key" ? name.key(v) : v;
      return { group, bucketStart: r.bucketStart, totals: r.totals };
    });
  };

  return {
    async queryUsage(req, ctx) {
      const query = await queryOf(req, ctx);
      const hash = `QueryUsage ${toJsonString(QueryUsageRequestSchema, { ...req, pageSize: 0, pageToken: "" })}`;
      // The position is the last group's key (not a row offset, which a group appearing between
      // pages would shift). Offset tokens of earlier versions are refused like any malformed one:
      // honouring them would mean running the shifting query again; the caller starts over.
      const after = pageRequest(1, req.pageToken, hash).after;
      if (after !== undefined && !isUsageGroupCursor(after, query)) throw invalidPageToken();
      const limit = Math.min(req.pageSize > 0 ? req.pageSize : DEFAULT_ROWS, MAX_ROWS);
      // The page and the totals from one snapshot: a flush landing meanwhile counts in both or neither.
      const { rows, next, totals } = await deps.usage.report({ ...query, ...(after === undefined ? {} : { after }), limit });
      return {
        rows: (await named(rows)).map((r) => ({
          group: r.group,
          ...(r.bucketStart === undefined ? {} : { bucketStartTime: timestampFromDate(r.bucketStart) }),
          totals: totalsMessage(r.totals),
        })),
        totals: totalsMessage(totals),
        nextPageToken: next === undefined ? "" : groupPageToken(next, hash),
      };
    },

    async listUsageRecords(req, ctx) {
      const range = await rangeOf(ctx, req.parent, boundDate(req.startTime!, "start_time"), boundDate(req.endTime!, "end_time"), req.filter);
      const hash = `ListUsageRecords ${toJsonString(ListUsageRecordsRequestSchema, { ...req, pageSize: 0, pageToken: "" })}`;
      const after = pageRequest(1, req.pageToken, hash).after;
      if (after !== undefined && !isUsageCursor(after)) throw invalidPageToken();
      const limit = Math.min(req.pageSize > 0 ? req.pageSize : DEFAULT_ROWS, MAX_ROWS);
      const page = await deps.usage.list({ ...range, limit, ...(req.requestId === "" ? {} : { requestId: req.requestId }), ...(after === undefined ? {} : { after }) });
      const ids = (pick: (r: (typeof page.items)[number]) => string) => [...new Set(page.items.map(pick))];
      const name = resourceNamer(await deps.usage.names({ orgIds: ids((r) => r.orgId), teamIds: ids((r) => r.teamId), keyIds: ids((r) => r.keyId) }));
      return { records: page.items.map((r) => recordMessage(r, name)), nextPageToken: nextPageToken(page.after, hash) };
    },

    async *exportUsage(req, ctx) {
      if (req.query === undefined) throw fieldViolation("query", "required", "required");
      const query = await queryOf(req.query, ctx, "query.");
      const chunker = createChunker(CHUNK_BYTES);
      const emit = (text: string) => chunker.push(text);
      const out = (bytes: Uint8Array | undefined) => (bytes === undefined ? [] : [create(ExportUsageResponseSchema, { csvChunk: bytes })]);
      const header = [
        ...(query.bucket === undefined ? [] : ["bucket_start_time"]),
        ...query.groupBy,
        "requests",
        "attempts",
        "input_tokens",
        "output_tokens",
        "cached_input_tokens",
        "reasoning_tokens",
        "cost_micros_usd",
        "cache_hits",
      ];
      yield* out(emit(csvRecord(header)));
      // Each query continues after the last group written, so groups landing meanwhile never
      // shift the rest: none is written twice or skipped.
      for (let after: string | undefined; ; ) {
        const { rows, next } = await deps.usage.aggregate({ ...query, ...(after === undefined ? {} : { after }), limit: EXPORT_BATCH });
        for (const r of await named(rows)) {
          const t = r.totals;
          const fields = [
            ...(query.bucket === undefined ? [] : [r.bucketStart?.toISOString() ?? ""]),
            ...query.groupBy.map((d) => r.group[d] ?? ""),
            ...[t.requests, t.attempts, t.inputTokens, t.outputTokens, t.cachedInputTokens, t.reasoningTokens, t.costMicros, t.cacheHits].map(String),
          ];
          yield* out(emit(csvRecord(fields)));
        }
        if (next === undefined) break;
        after = next.key;
      }
      yield* out(chunker.end());
    },
  };
}

/**
 * The token of the page after `next`'s group: its key, exact and found without a lookup; or, when
 * long values (tags and model ids run to 256 characters) would make the token longer than the
 * schema allows, the key's digest, which the next page looks up in the ledger.
 */
function groupPageToken(next: UsageGroupCursors, hash: string): string {
  const token = nextPageToken(next.key, hash);
  return token.length <= MAX_PAGE_TOKEN_CHARS ? token : nextPageToken(next.digest, hash);
}
