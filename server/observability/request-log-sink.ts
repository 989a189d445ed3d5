import type { CallMeta } from "../pipeline/model-call.js";
import type { EmbedRequest, ModelRequest } from "../providers/model.js";
import type { RequestLogRow } from "../store/request-log-store.js";
import { storableCopy } from "../store/storable-text.js";
import { outcomeCode } from "./code-name.js";
import type { CallObservation, CallSink, ObservedResponse } from "./observe-stage.js";
import { mapStrings, maskSecrets, redactText } from "./redact-body.js";

/** How much of a call the request log keeps. */
export type RequestLogMode = "off" | "metadata" | "redacted" | "full";

/** Every mode, in increasing order of what is kept. */
export const REQUEST_LOG_MODES: readonly RequestLogMode[] = ["off", "metadata", "redacted", "full"];

/** Which calls are logged and how much of each (`requestLog` in the config). */
export interface RequestLogPolicy {
  /** The mode of routes without an override. */
  mode: RequestLogMode;
  /** Per route alias. */
  routes?: Readonly<Record<string, RequestLogMode>>;
  /** Longest body kept, in bytes of JSON (default 64 KiB); longer ones are cut and marked. */
  maxBodyBytes?: number;
}

/**
 * The request log's view of each observed model call: by its route's mode, nothing (`off`), one
 * row of ids, codes, times, tokens and cost (`metadata`), plus the request and response bodies with
 * personal data and secrets replaced (`redacted`), or plus the bodies with only secret-looking
 * values masked (`full`). Rows go to `append` (the batching writer); bodies are cut at
 * `maxBodyBytes`. Images are never stored, only marked. Postgres stores no NUL and no unpaired
 * surrogate: the cleaning of the bodies turns each into U+FFFD, and so does the sink in the route
 * and the model (text a caller or a provider chose).
 */
export function createRequestLogSink(deps: { append(row: RequestLogRow): void }, policy: RequestLogPolicy): CallSink {
  // Own keys only: the overrides are a plain object (YAML), and `constructor` is a valid alias.
  const modeOf = (meta: CallMeta): RequestLogMode => (policy.routes !== undefined && Object.hasOwn(policy.routes, meta.route) ? policy.routes[meta.route]! : policy.mode);
  const maxBytes = policy.maxBodyBytes ?? 64 * 1024;
  return {
    wantsBody: (meta) => {
      const mode = modeOf(meta);
      return mode === "redacted" || mode === "full";
    },
    ended(o) {
      const mode = modeOf(o.meta);
      if (mode === "off") return;
      const clean = mode === "redacted" ? redactText : maskSecrets;
      // A tool call's arguments are JSON text: cleaned as such first (see `redactText`).
      const args = (json: string) => clean(json, true);
      const body = (value: (args: (json: string) => string) => unknown) => (mode === "metadata" ? null : bounded(mapStrings(value(args), clean), maxBytes));
      const usage = o.usage ?? o.attempts.reduce((t, a) => ({ inputTokens: t.inputTokens + a.usage.inputTokens, outputTokens: t.outputTokens + a.usage.outputTokens }), { inputTokens: 0, outputTokens: 0 });
      deps.append({
        created_at: new Date(o.startedAt),
        request_id: o.meta.requestId,
        org_id: o.meta.caller?.orgId ?? null,
        team_id: o.meta.caller?.teamId ?? null,
        key_id: o.meta.caller?.keyId ?? null,
        verb: o.meta.verb,
        route: storableCopy(o.meta.route),
        provider: o.provider,
        model: storableCopy(o.model),
        code: outcomeCode(o.error),
        stream: o.stream,
        duration_ms: Math.round(o.durationMs),
        ttft_ms: o.timeToFirstTokenMs === undefined ? null : Math.round(o.timeToFirstTokenMs),
        input_tokens: usage.inputTokens,
        output_tokens: usage.outputTokens,
        cost_micros_usd: o.costMicrosUsd,
        cache_status: o.cacheStatus ?? null,
        attempts: o.attempts.length,
        mode,
        request: body((args) => requestBody(o.request, args)),
        response: o.response === undefined ? null : body((args) => responseBody(o.response!, args)),
      });
    },
  };
}

function requestBody(req: ModelRequest | EmbedRequest, args: (json: string) => string): unknown {
  if ("inputs" in req) return { inputs: req.inputs };
  return {
    messages: req.messages.map((m) => ({
      role: m.role,
      text: m.content.map((p) => (p.type === "text" ? p.text : "[image]")).join(""),
      ...(m.toolCalls?.length ? { toolCalls: m.toolCalls.map((t) => ({ name: t.name, arguments: args(t.argumentsJson) })) } : {}),
      ...(m.toolCallId === undefined ? {} : { toolCallId: m.toolCallId }),
    })),
    ...(req.tools?.length ? { tools: req.tools.map((t) => t.name) } : {}),
    ...(req.responseFormat === undefined ? {} : { responseFormat: req.responseFormat.type }),
  };
}

function responseBody(r: ObservedResponse, args: (json: string) => string): unknown {
  return {
    text: r.text,
    ...(r.toolCalls.length > 0 ? { toolCalls: r.toolCalls.map((t) => ({ name: t.name, arguments: args(t.argumentsJson) })) } : {}),
    ...(r.vectors === undefined ? {} : { vectors: r.vectors }),
    ...(r.truncated ? { truncated: true } : {}),
  };
}

/** What the marked copy adds around the cut text: `{"truncated":true,"json":""}`. */
const MARKER_BYTES = Buffer.byteLength(JSON.stringify({ truncated: true, json: "" }), "utf8");

/**
 * The value as JSON text, or a cut copy of it marked `truncated` when it is longer than `maxBytes`
 * — the marked copy itself at most `maxBytes` long. The cut text is a JSON string inside it, so
 * it is escaped again (a quote or backslash of the body doubles, a control character's escape
 * grows): one pass adds up what each character takes once escaped and stops at the longest prefix
 * that fits, never inside a surrogate pair (Postgres refuses a lone one in `jsonb`).
 */
function bounded(value: unknown, maxBytes: number): string {
  const json = JSON.stringify(value);
  if (Buffer.byteLength(json, "utf8") <= maxBytes) return json;
  const room = maxBytes - MARKER_BYTES;
  let used = 0;
  let end = 0;
  while (end < json.length) {
    const code = json.charCodeAt(end);
    const pair = code >= 0xd800 && code <= 0xdbff && isLowSurrogate(json.charCodeAt(end + 1));
    const width = pair ? 4 : escapedBytes(code);
    if (used + width > room) break;
    used += width;
    end += pair ? 2 : 1;
  }
  return JSON.stringify({ truncated: true, json: json.slice(0, end) });
}

/** The UTF-8 bytes of one UTF-16 code unit (not half of a pair) once JSON.stringify escaped it in a string. */
function escapedBytes(code: number): number {
  if (code === 0x22 || code === 0x5c) return 2; // \" \\
  if (code < 0x20) return code === 0x08 || code === 0x09 || code === 0x0a || code === 0x0c || code === 0x0d ? 2 : 6; // \n, \u0001
  if (code < 0x80) return 1;
  if (code < 0x800) return 2;
  if (code >= 0xd800 && code <= 0xdfff) return 6; // a lone surrogate: \udXXX
  return 3;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}
