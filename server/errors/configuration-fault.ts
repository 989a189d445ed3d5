import type { ConnectError } from "@connectrpc/connect";

/** The OpenAI `code` of each error {@link configurationFault} marked. */
const faults = new WeakMap<ConnectError, string>();

/**
 * `err` marked as a refusal the gateway's own configuration caused, not the caller's request: a
 * stored guardrail policy that does not compile, a model without a price under a spend cap. Its
 * canonical code stays (FailedPrecondition: a state only an operator can change). The OpenAI
 * surface answers it 500 `server_error` with `openAICode` and `x-should-retry: false`: its 400
 * would tell the caller to fix a request that is fine, and the retries OpenAI's SDKs make of
 * every 5xx within seconds cannot fix configuration. Returns `err`.
 */
export function configurationFault(err: ConnectError, openAICode: string): ConnectError {
  faults.set(err, openAICode);
  return err;
}

/** The OpenAI `code` {@link configurationFault} gave `err`; undefined for any other error. */
export function configurationFaultCode(err: ConnectError): string | undefined {
  return faults.get(err);
}
