import { randomUUID } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import type { Principal } from "../auth/principal.js";
import type { RateStanding } from "../limits/rate-standing.js";
import { ownEntry } from "../own-entry.js";
import type { CacheModeName, CallMeta } from "../pipeline/model-call.js";
import type { PromptTemplateVersion } from "../verbs/templates/prompt-template.js";
import { withEndUser } from "../verbs/end-user-tag.js";
import { storableText, UNSTORABLE_TEXT } from "../store/storable-text.js";
import type { Generation, VerbContext } from "../verbs/verb-context.js";
import { invalidField } from "./openai-request-error.js";
import { withinChars } from "./request-bounds.js";

/**
 * How an OpenAI-surface request fills the parts of `CallMeta` that OpenAI's wire format has no
 * field for. Documented in the README ("OpenAI-compatible surface"):
 * - request id: a well-formed `x-request-id` (1–128 of `A-Za-z0-9._:-`), else a new UUID;
 * - deadline: `x-switchboard-timeout-ms`, else the OpenAI SDKs' `x-stainless-timeout` (seconds),
 *   else the server default;
 * - tags: the key's, then the body's `metadata`, then `x-switchboard-tags` (`k=v,k2=v2`), later
 *   ones winning; at most 32, keys `[a-zA-Z0-9_.:/-]{1,64}` but not `__proto__`, values up to 256
 *   characters (the Connect surface's `RequestOptions.tags` rules);
 * - cache mode: `x-switchboard-cache` = `default` | `bypass` | `no-store` | `refresh`, with an
 *   optional `; max-age=<seconds>`;
 * - end user: the body's `user`, recorded as the tag `end_user` (like `RequestOptions.end_user`);
 * - pinned prompt template: `x-switchboard-template: <name>[@<version>]` (`RequestOptions.prompt`).
 */

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const TAG_KEY = /^[a-zA-Z0-9_.:/-]{1,64}$/;
const MAX_TAGS = 32;
const TEMPLATE_PIN = /^((?:orgs\/[a-z0-9][a-z0-9-]{0,62}\/)?prompts\/[a-z0-9][a-z0-9-]{0,62})(?:@(\d{1,10}))?$/;
const CACHE_MODES: Record<string, CacheModeName> = { default: "default", bypass: "bypass", "no-store": "no_store", no_store: "no_store", refresh: "refresh" };

/** The first value of a header. */
export function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** The caller's `x-request-id` when well-formed, else a new UUID. */
export function requestIdOf(headers: IncomingHttpHeaders): string {
  const supplied = headerValue(headers, "x-request-id");
  return supplied !== undefined && REQUEST_ID.test(supplied) ? supplied : randomUUID();
}

/** The caller's timeout in ms, or `undefined` when it set none. */
export function timeoutOf(headers: IncomingHttpHeaders): number | undefined {
  const ms = headerValue(headers, "x-switchboard-timeout-ms");
  if (ms !== undefined) {
    const n = Number(ms);
    if (!Number.isSafeInteger(n) || n <= 0) throw invalidField("x-switchboard-timeout-ms", "header x-switchboard-timeout-ms must be a positive integer");
    return n;
  }
  const stainless = headerValue(headers, "x-stainless-timeout");
  const seconds = Number(stainless);
  if (!Number.isFinite(seconds) || seconds <= 0) return undefined;
  // The TS SDK sends whole seconds, rounded down (`timeout: 1900` → "1"): the caller waits up to a
  // second longer than that, so a whole number gets the second it may stand for. Past the caller's
  // own timeout the call ends anyway, as a caller gone. The Python SDK sends a float ("600.0").
  return /^\d+$/.test(stainless!.trim()) ? (seconds + 1) * 1000 : seconds * 1000;
}

/** The request's tags: the key's, then `metadata`, then the `x-switchboard-tags` header. */
export function tagsOf(principal: Principal, metadata: Readonly<Record<string, string>> | undefined, header: string | undefined): Record<string, string> {
  // A Map, not an object: a key named `__proto__` must reach the check below, not vanish as an
  // assignment to the prototype.
  const requested = new Map(Object.entries(metadata ?? {}));
  // Keys whose value the header set: a refusal of one names the header, not the body (OpenAI's `param`).
  const fromHeader = new Set<string>();
  if (header !== undefined && header.trim() !== "") {
    for (const pair of header.split(",")) {
      const eq = pair.indexOf("=");
      if (eq <= 0) throw invalidField("x-switchboard-tags", "header x-switchboard-tags must be comma-separated key=value pairs");
      const key = pair.slice(0, eq).trim();
      requested.set(key, percentDecoded(pair.slice(eq + 1).trim()));
      fromHeader.add(key);
    }
  }
  if (requested.size > MAX_TAGS) throw invalidField("metadata", `at most ${MAX_TAGS} tags (metadata and x-switchboard-tags together)`);
  for (const [key, value] of requested) {
    const param = fromHeader.has(key) ? "x-switchboard-tags" : "metadata";
    if (!TAG_KEY.test(key)) throw invalidField(param, `tag key "${key.slice(0, 64)}" must match [a-zA-Z0-9_.:/-]{1,64}`);
    // Tags travel as JSON objects and protobuf maps, where this key is the prototype, not a tag
    // (protobuf-es drops it on decoding): refused rather than silently lost.
    if (key === "__proto__") throw invalidField(param, `tag key "__proto__" is reserved`);
    // Characters as RequestOptions.tags counts them (code points), so both doors take the same values.
    if (!withinChars(value, 256)) throw invalidField(param, `tag "${key}" must be at most 256 characters`);
    if (!storableText(value)) throw invalidField(param, `tag "${key}" ${UNSTORABLE_TEXT}`);
  }
  return { ...principal.tags, ...Object.fromEntries(requested) };
}

/** The body's `user`, refused when Postgres could not store it (it is recorded as a tag). */
function endUserOf(user: string | undefined): string | undefined {
  if (user !== undefined && !storableText(user)) throw invalidField("user", `'user' ${UNSTORABLE_TEXT}`);
  return user;
}

/** A tag value with `%XX` escapes decoded (so values may hold commas). */
function percentDecoded(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    throw invalidField("x-switchboard-tags", "header x-switchboard-tags: a value has a malformed %-escape");
  }
}

/** The cache policy of `x-switchboard-cache`. */
export function cacheOf(header: string | undefined): CallMeta["cache"] {
  if (header === undefined || header.trim() === "") return { mode: "default" };
  const [modePart, ...params] = header.split(";").map((s) => s.trim().toLowerCase());
  const mode = ownEntry(CACHE_MODES, modePart ?? "");
  if (mode === undefined) throw invalidField("x-switchboard-cache", "header x-switchboard-cache must be default, bypass, no-store or refresh");
  let maxAgeMs: number | undefined;
  for (const p of params) {
    const m = /^max-age=(\d{1,9})$/.exec(p);
    if (m === null) throw invalidField("x-switchboard-cache", `header x-switchboard-cache: unknown parameter "${p}" (only max-age=<seconds>)`);
    maxAgeMs = Number(m[1]) * 1000;
  }
  return { mode, ...(maxAgeMs === undefined ? {} : { maxAgeMs }) };
}

/**
 * The template `x-switchboard-template` pins, as `RequestOptions.prompt` would: `<name>` (its
 * active version) or `<name>@<version>`, the name `prompts/{id}` or `orgs/{org}/prompts/{id}`.
 * Undefined when the header is absent or empty.
 */
export function templatePinOf(header: string | undefined): { name: string; version: number } | undefined {
  if (header === undefined || header.trim() === "") return undefined;
  const m = TEMPLATE_PIN.exec(header.trim());
  const version = m?.[2] === undefined ? 0 : Number(m[2]);
  if (m === null || version > 0xffff_ffff) {
    throw invalidField("x-switchboard-template", "header x-switchboard-template must be a template name (prompts/{id} or orgs/{org}/prompts/{id}), optionally @<version>");
  }
  return { name: m[1]!, version };
}

/** What a call of the OpenAI surface is made with, apart from the parsed body. */
export interface SurfaceCall {
  route: string;
  requestId: string;
  signal: AbortSignal;
  deadline: number;
  principal: Principal;
  headers: IncomingHttpHeaders;
  metadata?: Readonly<Record<string, string>>;
  /** The body's `user`: recorded as the `end_user` tag. */
  endUser?: string;
  /** The Chat template attached to the key, team, org or route, if any (rendered as the Chat verb does). */
  template?: PromptTemplateVersion;
  generation?: Generation;
  /** Filled by the rate-limit stages; the answer's `x-ratelimit-*` headers. */
  rateStanding: RateStanding;
}

/**
 * The verb context of one OpenAI-surface call: the same shape the Connect surface builds from
 * `RequestOptions`, so the Chat verb's `buildChatCall` and `callMetaFor` turn it into exactly the
 * `ModelCall` a Connect `Chat` or `Embed` would make.
 */
export function verbContextFor(call: SurfaceCall): VerbContext & { rateStanding: RateStanding } {
  const { principal } = call;
  return {
    route: call.route,
    requestId: call.requestId,
    signal: call.signal,
    deadline: call.deadline,
    tags: withEndUser(tagsOf(principal, call.metadata, headerValue(call.headers, "x-switchboard-tags")), endUserOf(call.endUser)),
    cache: cacheOf(headerValue(call.headers, "x-switchboard-cache")),
    // Only the other verbs shape their prompts by it; Chat and Embed pass formats through as asked.
    capabilities: { jsonSchema: false },
    caller: { orgId: principal.orgId, teamId: principal.teamId, keyId: principal.keyId },
    ...(principal.allowedModels.length === 0 ? {} : { allowedModels: principal.allowedModels }),
    rateStanding: call.rateStanding,
    ...(call.template === undefined ? {} : { template: call.template }),
    ...(call.generation === undefined ? {} : { generation: call.generation }),
  };
}
