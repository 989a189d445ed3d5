import { ConnectError } from "@connectrpc/connect";
import { scrubText } from "../audit/mask.js";
import type { Principal } from "../auth/principal.js";
import { failedCallAccounting } from "../pipeline/dispatch-pipeline.js";
import type { CallSummary } from "./call-summary.js";

/** Everything the access-log line of one RPC is made from. */
export interface AccessFacts {
  requestId: string;
  procedure: string;
  protocol: string;
  /** `ok` or the canonical code name. */
  code: string;
  durationMs: number;
  /** Messages sent (Connect and gRPC); absent on the OpenAI surface, which gives `status`. */
  messagesOut?: number;
  /** The OpenAI surface: the HTTP status of the answer. */
  status?: number;
  /** The CapabilityService verb (`summarize`, `chat_stream`, …); undefined for other services. */
  verb?: string;
  principal?: Principal;
  summary?: CallSummary;
  /** Streams: ms from the RPC's start to its first content message. */
  timeToFirstTokenMs?: number;
  error?: unknown;
  traceId?: string;
}

/**
 * The fields of the access-log line (one per RPC; see the README's list). Ids, counts, codes and
 * times only: no bodies, no headers, no key secret — the principal appears as its org, team and
 * key ids — and an error's caller-facing message with secret-looking values masked. An RPC that
 * failed after dispatch reports the attempts and cost it still billed.
 */
export function accessLogFields(f: AccessFacts): Record<string, unknown> {
  const out: Record<string, unknown> = {
    requestId: f.requestId,
    procedure: f.procedure,
    protocol: f.protocol,
    code: f.code,
    durationMs: round(f.durationMs),
  };
  if (f.messagesOut !== undefined) out.messagesOut = f.messagesOut;
  if (f.status !== undefined) out.status = f.status;
  if (f.traceId !== undefined) out.traceId = f.traceId;
  if (f.principal !== undefined) {
    out.orgId = f.principal.orgId;
    out.teamId = f.principal.teamId;
    out.keyId = f.principal.keyId;
  }
  if (f.verb !== undefined) out.verb = f.verb;
  const s = f.summary;
  if (s !== undefined) {
    Object.assign(out, {
      route: s.route,
      provider: s.provider,
      model: s.model,
      inputTokens: s.inputTokens,
      outputTokens: s.outputTokens,
      cachedInputTokens: s.cachedInputTokens,
      reasoningTokens: s.reasoningTokens,
      costMicrosUsd: Number(s.costMicrosUsd),
      cacheStatus: s.cacheStatus,
      attempts: s.attempts,
      fallbacks: s.fallbacks,
      modelCalls: s.modelCalls,
    });
    if (s.terminal !== undefined) out.terminal = s.terminal;
  }
  if (f.timeToFirstTokenMs !== undefined) out.timeToFirstTokenMs = round(f.timeToFirstTokenMs);
  if (f.error !== undefined) {
    if (f.error instanceof ConnectError) out.error = loggedMessage(f.error.rawMessage);
    const billed = s === undefined ? failedCallAccounting(f.error) : undefined;
    if (billed !== undefined) {
      const last = billed.attempts.at(-1);
      Object.assign(out, { attempts: billed.attempts.length, costMicrosUsd: Number(billed.costMicrosUsd) });
      if (last !== undefined) Object.assign(out, { provider: last.provider, model: last.model });
    }
  }
  return out;
}

/**
 * Most characters of an error message on the line. A message may quote text the caller typed
 * (the OpenAI surface's `model` alias, a content part's `type`, a `metadata` key), which only the
 * request body limit bounds: the line stays bounded whatever the request.
 */
export const MAX_LOGGED_ERROR_CHARS = 1024;

/**
 * `message` with secret-looking values masked, cut at {@link MAX_LOGGED_ERROR_CHARS}. A long one is
 * scrubbed with a margin past the cut (longer than any secret pattern), so a secret straddling the
 * cut is still masked whole, and without scanning the rest.
 */
function loggedMessage(message: string): string {
  if (message.length <= MAX_LOGGED_ERROR_CHARS) return scrubText(message);
  const scrubbed = scrubText(message.slice(0, MAX_LOGGED_ERROR_CHARS + 256));
  return `${scrubbed.slice(0, MAX_LOGGED_ERROR_CHARS)}… (${message.length} characters)`;
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
