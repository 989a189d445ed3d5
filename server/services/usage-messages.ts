import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { UsageRecordSchema, UsageTotalsSchema, UsageDimension, TimeBucket, type UsageRecord, type UsageTotals } from "../../gen/ts/switchboard/v1/usage_service_pb.js";
import { AttemptOutcome, CacheStatus, Verb } from "../../gen/ts/switchboard/v1/common_pb.js";
import { ATTEMPT_OUTCOME } from "../dispatch/attempt-record.js";
import { ownEntry } from "../own-entry.js";
import type { TenancyNames, TimeBucketName, UsageDimensionName, UsageRecordRow, UsageTotalsRow } from "../store/usage-store.js";

/** Proto dimension → the store's name (and the key of `UsageRow.group`). */
export const DIMENSION_NAME: Partial<Record<UsageDimension, UsageDimensionName>> = {
  [UsageDimension.ORG]: "org",
  [UsageDimension.TEAM]: "team",
  [UsageDimension.KEY]: "key",
  [UsageDimension.ROUTE]: "route",
  [UsageDimension.MODEL]: "model",
  [UsageDimension.PROVIDER]: "provider",
  [UsageDimension.VERB]: "verb",
  [UsageDimension.TAG]: "tag",
};

/** Proto bucket → the store's; UNSPECIFIED is one bucket for the whole range. */
export const BUCKET_NAME: Partial<Record<TimeBucket, TimeBucketName>> = {
  [TimeBucket.HOUR]: "hour",
  [TimeBucket.DAY]: "day",
  [TimeBucket.MONTH]: "month",
};

/** Proto verb → the name the ledger stores. */
export const VERB_NAME: Partial<Record<Verb, string>> = {
  [Verb.SUMMARIZE]: "summarize",
  [Verb.CLASSIFY]: "classify",
  [Verb.EXTRACT]: "extract",
  [Verb.ANSWER]: "answer",
  [Verb.CHAT]: "chat",
  [Verb.EMBED]: "embed",
};
const VERB_PROTO = Object.fromEntries(Object.entries(VERB_NAME).map(([k, v]) => [v, Number(k) as Verb])) as Record<string, Verb>;

const CACHE: Record<string, CacheStatus> = {
  miss: CacheStatus.MISS,
  hit_exact: CacheStatus.HIT_EXACT,
  hit_semantic: CacheStatus.HIT_SEMANTIC,
  bypass: CacheStatus.BYPASS,
};

/** Resource names of ledger ids; an id whose org, team or key is gone is shown as the id. */
export function resourceNamer(names: TenancyNames) {
  return {
    org: (id: string) => {
      const org = names.orgs.get(id);
      return org === undefined ? id : `orgs/${org}`;
    },
    team: (id: string) => {
      const t = names.teams.get(id);
      return t === undefined ? id : `orgs/${t.org}/teams/${t.team}`;
    },
    key: (id: string) => {
      const k = names.keys.get(id);
      return k === undefined ? id : `orgs/${k.org}/teams/${k.team}/keys/${k.key}`;
    },
  };
}

/** Summed figures as the API returns them. */
export function totalsMessage(t: UsageTotalsRow): UsageTotals {
  return create(UsageTotalsSchema, {
    requests: t.requests,
    attempts: t.attempts,
    inputTokens: t.inputTokens,
    outputTokens: t.outputTokens,
    cachedInputTokens: t.cachedInputTokens,
    reasoningTokens: t.reasoningTokens,
    costMicrosUsd: t.costMicros,
    cacheHits: t.cacheHits,
  });
}

/** One ledger row as the API returns it. */
export function recordMessage(r: UsageRecordRow, name: ReturnType<typeof resourceNamer>): UsageRecord {
  return create(UsageRecordSchema, {
    requestId: r.requestId,
    attempt: r.attempt,
    time: timestampFromDate(r.occurredAt),
    org: name.org(r.orgId),
    team: name.team(r.teamId),
    key: name.key(r.keyId),
    route: r.route,
    provider: r.provider,
    model: r.model,
    verb: VERB_PROTO[r.verb] ?? Verb.UNSPECIFIED,
    outcome: ownEntry(ATTEMPT_OUTCOME, r.outcome) ?? AttemptOutcome.UNSPECIFIED,
    inputTokens: BigInt(r.inputTokens),
    outputTokens: BigInt(r.outputTokens),
    cachedInputTokens: BigInt(r.cachedInputTokens),
    reasoningTokens: BigInt(r.reasoningTokens),
    costMicrosUsd: r.costMicros,
    priceVersion: r.priceVersion,
    estimated: r.estimated,
    cacheStatus: CACHE[r.cacheStatus] ?? CacheStatus.UNSPECIFIED,
    tags: r.tags,
    ...(r.template === undefined ? {} : { prompt: { name: r.template.name, version: r.template.version } }),
  });
}
