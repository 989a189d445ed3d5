import { ConnectError } from "@connectrpc/connect";
import { toProtoAttempt } from "../dispatch/attempt-record.js";
import { withProviderAttempts } from "../errors/provider-error-to-connect.js";
import { failedCallAccounting, reportFailedCall, type FailedCallAccounting } from "./dispatch-pipeline.js";

/**
 * Makes `err` report `spent` as what its call consumed, as a provider failure after dispatch does:
 * to the stages outside and the access line (`reportFailedCall`), and to the caller in a
 * `ConnectError`'s `ProviderAttempts` detail (one is added, for `route`, to an error that had none).
 * For a stage that knows of attempts billed for the call beyond those its error reports.
 */
export function reportBilledFailure(err: object, spent: FailedCallAccounting, route: string): void {
  reportFailedCall(err, spent);
  if (err instanceof ConnectError) withProviderAttempts(err, spent.attempts.map(toProtoAttempt), route);
}

/**
 * `err`, a stage's refusal of an answer the stages inside it were given and billed (`answered`:
 * the output guardrails blocking it, or failing to check it), as the caller is told it: the
 * answer's attempts and cost, as a success would have reported them — the budget and the ledger
 * inside settled them already, so this only reports them, and the stages outside (the tokens
 * correction, the cache's lookup) read them from the error as from any failure after dispatch.
 * Returns `err` itself; an error that already reports what it consumed, or an answer nothing was
 * billed for (a cache hit), leaves it as it is.
 */
export function withAnswerBilledOnFailure(err: unknown, answered: FailedCallAccounting, route: string): unknown {
  if (answered.attempts.length === 0 || typeof err !== "object" || err === null || failedCallAccounting(err) !== undefined) return err;
  reportBilledFailure(err, { attempts: answered.attempts, costMicrosUsd: answered.costMicrosUsd }, route);
  return err;
}
