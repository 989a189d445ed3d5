import type { Kysely } from "kysely";
import type { Egress } from "../http/egress-connect.js";
import type { Logger } from "../observability/logger.js";
import { urlForLog } from "../observability/log-redaction.js";
import { createGuardrailPolicyStore, type GuardrailPolicyStore } from "../store/guardrail-policy-store.js";
import type { Database } from "../store/schema.js";
import { createExternalChecker, type ExternalChecker } from "./external-rule.js";
import { createPolicyResolver, type PolicyResolver } from "./policy-resolver.js";

/** The guardrails' parts, built once per replica. */
export interface GuardrailLayer {
  store: GuardrailPolicyStore;
  resolver: PolicyResolver;
  external: ExternalChecker;
}

/**
 * Builds the policy store, the resolver that follows it (checked every `pollMs`; `close()` it on shutdown) and
 * the client of external guardrail services (connecting through `deps.egress`, the egress
 * policy's clients). Failures are logged without content: an external
 * service by its URL (without userinfo or query, which may hold a token), a policy that no longer
 * compiles by its name and the compiler's error (the field and what it refuses, not the rules) —
 * at error, as the calls it governs are refused until an operator acts.
 */
export function createGuardrailLayer(deps: { db: Kysely<Database>; logger: Logger; egress?: Egress }, opts: { pollMs?: number } = {}): GuardrailLayer {
  const store = createGuardrailPolicyStore(deps.db);
  return {
    store,
    resolver: createPolicyResolver({
      store,
      ...(opts.pollMs === undefined ? {} : { pollMs: opts.pollMs }),
      onError: (err) => deps.logger.warn({ err: err instanceof Error ? err.message : String(err) }, "guardrail policies: refresh failed; serving the last ones"),
      onBroken: (policy, err) =>
        deps.logger.error(
          { policy, err: err instanceof Error ? err.message : String(err) },
          "guardrail policy does not compile; the calls it governs are refused (fail closed) until it is updated, disabled or deleted",
        ),
    }),
    external: createExternalChecker({
      ...(deps.egress ? { egress: deps.egress } : {}),
      onError: (url, err) => deps.logger.warn({ url: urlForLog(url), err: err instanceof Error ? err.message : String(err) }, "external guardrail failed"),
    }),
  };
}
