import type { AttemptRecord } from "../dispatch/attempt-record.js";
import type { ResolvedRoute } from "../dispatch/route-types.js";
import type { Logger } from "../observability/logger.js";
import { afterConsumed } from "../pipeline/dispatch-pipeline.js";
import type { CallMeta, Stage } from "../pipeline/model-call.js";

/** Dependencies of {@link createCredentialAlarmStage}. */
export interface CredentialAlarmDeps {
  logger: Logger;
  /** Route aliases as a caller's org sees them: maps an attempt's target index to its credential name. */
  routes: { resolve(alias: string, orgId?: string): ResolvedRoute | undefined };
}

/**
 * A pipeline stage that only watches: every attempt a provider refused for its credential (401 or
 * 403, or an answer the adapter classified `auth`: the key is revoked, expired, invalid, out of
 * credit or lacks access), and every attempt that could not start because
 * its credential could not be read, is logged at error level with the credential's name, the
 * provider, model, route and request id — never the value. The call itself goes on unchanged
 * (dispatch already fell back or failed it); the log is what tells an operator to fix the key.
 */
export function createCredentialAlarmStage(deps: CredentialAlarmDeps): Stage {
  const watch = (meta: CallMeta, attempts: readonly AttemptRecord[]): void => {
    for (const attempt of attempts) {
      if (attempt.outcome !== "auth_error") continue;
      const credential = deps.routes.resolve(meta.route, meta.caller?.orgId)?.targets[attempt.targetIndex]?.credential ?? "";
      const fields = { credential, provider: attempt.provider, model: attempt.model, route: meta.route, requestId: meta.requestId };
      // Any answer means the key was read and sent: a 401/403, and also Gemini's 400 API_KEY_INVALID
      // or OpenAI's 429 insufficient_quota (classified `auth` by the adapters).
      if (attempt.httpStatus !== undefined) {
        deps.logger.error({ ...fields, httpStatus: attempt.httpStatus }, "the provider rejected the credential: check or replace it");
      } else {
        deps.logger.error(fields, "the credential could not be read: it is missing, or does not decrypt");
      }
    }
  };
  /** Watches the attempts of a call that succeeded or failed after sending. */
  const watchSpent = (meta: CallMeta) => (spent: { attempts: readonly AttemptRecord[] } | undefined): void => {
    if (spent !== undefined) watch(meta, spent.attempts);
  };
  return (next) => ({
    chat: (call) => afterConsumed(() => next.chat(call), watchSpent(call.meta)),
    embed: (call) => afterConsumed(() => next.embed(call), watchSpent(call.meta)),
    chatStream(call) {
      const stream = next.chatStream(call);
      stream.result().then((r) => watch(call.meta, r.attempts), () => undefined);
      return stream;
    },
  });
}
