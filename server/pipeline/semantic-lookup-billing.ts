import type { AttemptRecord } from "../dispatch/attempt-record.js";
import { reportBilledFailure } from "./billed-failure.js";
import { failedCallAccounting } from "./dispatch-pipeline.js";
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

/** The lookup's attempts first (they ran first), marked as the lookup's and numbered with the call's in start order. */
function lookupFirst(lookup: LookupBilling, attempts: readonly AttemptRecord[]): AttemptRecord[] {
  const all: AttemptRecord[] = [];
  for (const a of lookup.attempts) all.push({ ...a, usage: { ...a.usage }, index: all.length + 1, semanticLookup: true });
  for (const a of attempts) all.push({ ...a, usage: { ...a.usage }, index: all.length + 1 });
  return all;
}

/**
 * `result` as the caller is told it: the lookup's attempts first, marked as the lookup's and
 * numbered with the call's in start order, and its cost added — so the response's usage, its
 * cost header and the access line agree with the ledger for the request. The stages inside the
 * cache saw (and billed) each call on its own; only the stages outside see the sum.
 */
export function withLookupBilling<R extends ModelStreamResult>(result: R, lookup: LookupBilling | undefined): R {
  if (lookup === undefined || lookup.attempts.length === 0) return result;
  return { ...result, attempts: lookupFirst(lookup, result.attempts), costMicrosUsd: result.costMicrosUsd + lookup.costMicrosUsd };
}

/**
 * `err`, a failure of the call after its lookup was billed, as the caller is told it — as
 * {@link withLookupBilling} tells a result: what the call reports it consumed (`failedCallAccounting`:
 * the observe stage, the access line) gets the lookup's attempts first and its cost added, to the
 * attempts dispatch made for the call or to none (a budget or guardrail refusal); and a
 * `ConnectError`'s `ProviderAttempts` detail lists them all (one is added, for `route`, to an
 * error that had none), as `Usage.attempts` does on success. Returns `err` itself: its code, the
 * other details and what other modules keyed on it stay. An error that already reports a lookup
 * (one passing this stage again) is left as it is, so nothing is reported twice.
 */
export function withLookupBillingOnFailure(err: unknown, lookup: LookupBilling | undefined, route: string): unknown {
  if (lookup === undefined || lookup.attempts.length === 0 || typeof err !== "object" || err === null) return err;
  const spent = failedCallAccounting(err);
  if (spent?.attempts.some((a) => a.semanticLookup === true) === true) return err;
  const attempts = lookupFirst(lookup, spent?.attempts ?? []);
  reportBilledFailure(err, { attempts, costMicrosUsd: (spent?.costMicrosUsd ?? 0n) + lookup.costMicrosUsd }, route);
  return err;
}
