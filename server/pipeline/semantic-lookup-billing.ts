import type { AttemptRecord } from "../dispatch/attempt-record.js";
import type { ModelStreamResult } from "./model-call.js";

/**
 * What the embedding call of a semantic-cache lookup was billed (an `embedding_route`'s, made by
 * the cache stage through the stages inside it): its attempts and their cost. The usage stage
 * already wrote its ledger rows, and the budget stage settled it, as its own call under the same
 * request id; this is only what the call that made it reports.
 */
export interface LookupBilling {
  attempts: readonly AttemptRecord[];
  costMicrosUsd: bigint;
}

/**
 * `result` as the caller is told it: the lookup's attempts first (they ran first), marked as the
 * lookup's and numbered with the call's in start order, and its cost added — so the response's
 * usage, its cost header and the access line agree with the ledger for the request. The stages
 * inside the cache saw (and billed) each call on its own; only the stages outside see the sum.
 */
export function withLookupBilling<R extends ModelStreamResult>(result: R, lookup: LookupBilling | undefined): R {
  if (lookup === undefined || lookup.attempts.length === 0) return result;
  const attempts: AttemptRecord[] = [];
  for (const a of lookup.attempts) attempts.push({ ...a, usage: { ...a.usage }, index: attempts.length + 1, semanticLookup: true });
  for (const a of result.attempts) attempts.push({ ...a, usage: { ...a.usage }, index: attempts.length + 1 });
  return { ...result, attempts, costMicrosUsd: result.costMicrosUsd + lookup.costMicrosUsd };
}
