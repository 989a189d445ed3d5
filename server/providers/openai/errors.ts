/**
 * Classification of OpenAI (and OpenAI-compatible) failures into `ProviderError`s. The provider's
 * message is read to classify, never copied into what callers see.
 */
import { kindOfStatus } from "../http/http-status.js";
import { parseRetryAfter } from "../http/retry-after.js";
import { KIND_DESCRIPTION, ProviderError, type ProviderErrorKind } from "../provider-error.js";
import type { WireError } from "./wire.js";

type Headers = Readonly<Record<string, string | string[] | undefined>>;

const CONTEXT_LENGTH = /context[_ ]length|maximum context|context window|too many tokens|prompt is too long/i;
const OVERLOADED = /overload/i;
const RATE_LIMITED = /rate[_ ]?limit/i;

/** The `error` object of an OpenAI envelope, or undefined for any other body. */
export function parseErrorEnvelope(body: string): WireError | undefined {
  try {
    const parsed: unknown = JSON.parse(body);
    if (typeof parsed !== "object" || parsed === null) return undefined;
    const err = (parsed as { error?: unknown }).error;
    if (typeof err === "object" && err !== null) return err as WireError;
    // Some compatible servers send `{"error": "text"}` or `{"message": "text"}`.
    if (typeof err === "string") return { message: err };
    // Others (Mistral) put the fields at the top level, the message sometimes an object.
    const top = parsed as { message?: unknown; type?: unknown; code?: unknown };
    const message = typeof top.message === "string" ? top.message : undefined;
    const type = typeof top.type === "string" ? top.type : undefined;
    const code = typeof top.code === "string" || typeof top.code === "number" ? top.code : undefined;
    if (message === undefined && type === undefined && code === undefined) return undefined;
    return { ...(message === undefined ? {} : { message }), ...(type === undefined ? {} : { type }), ...(code === undefined ? {} : { code }) };
  } catch {
    return undefined;
  }
}

/** Classifies an HTTP error answer from its status, headers and (bounded) body text. */
export function classifyHttpError(providerKind: string, status: number, headers: Headers, body: string): ProviderError {
  return classify(providerKind, status, status, headers, body);
}

/**
 * Classifies an error envelope that came in a 2xx answer (OpenAI-compatible servers and proxies
 * send one): as the error status it names (its numeric `code`, else 500), recorded with the
 * status on the wire.
 */
export function classifyEmbeddedError(providerKind: string, wireStatus: number, headers: Headers, body: string): ProviderError {
  const named = Number(parseErrorEnvelope(body)?.code);
  return classify(providerKind, Number.isInteger(named) && named >= 400 && named <= 599 ? named : 500, wireStatus, headers, body);
}

function classify(providerKind: string, status: number, wireStatus: number, headers: Headers, body: string): ProviderError {
  const err = parseErrorEnvelope(body);
  const code = codeOf(err);
  const facts = [String(err?.code ?? ""), err?.type ?? ""].join(" ");
  let kind = kindOfStatus(status);
  if (code === "context_length_exceeded" || ([400, 413, 422].includes(status) && CONTEXT_LENGTH.test(err?.message ?? ""))) {
    kind = "context_length";
  } else if (facts.includes("content_filter") || facts.includes("content_policy_violation")) {
    kind = "content_filter";
  } else if (code === "insufficient_quota") {
    // A 429 that no retry will fix: the account is out of credit. Treated like a broken credential.
    kind = "auth";
  } else if (status === 503 || (kind === "server_error" && (OVERLOADED.test(facts) || OVERLOADED.test(err?.message ?? "")))) {
    // OpenAI's documented 503s ("engine overloaded", "slow down") are both capacity, whatever the body says.
    kind = "overloaded";
  }
  const retryAfterMs = parseRetryAfter(headers);
  const where = wireStatus === status ? `HTTP ${status}` : `an error in an HTTP ${wireStatus} answer`;
  return new ProviderError(kind, `${providerKind}: ${KIND_DESCRIPTION[kind]} (${where})`, {
    httpStatus: wireStatus,
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    ...(code === undefined ? {} : { providerCode: code }),
  });
}

/**
 * Classifies an `{"error": {...}}` event inside a stream: rate limits and overload keep their
 * kind (so dispatch may retry before any content went out); anything else is a broken stream.
 */
export function classifyStreamError(providerKind: string, err: WireError): ProviderError {
  const code = codeOf(err);
  const facts = [String(err.code ?? ""), err.type ?? "", err.message ?? ""].join(" ");
  const kind: ProviderErrorKind = OVERLOADED.test(facts) ? "overloaded" : RATE_LIMITED.test(facts) ? "rate_limited" : "stream_error";
  return new ProviderError(kind, `${providerKind}: ${kind === "stream_error" ? "the provider reported an error mid-stream" : KIND_DESCRIPTION[kind]}`, {
    ...(code === undefined ? {} : { providerCode: code }),
  });
}

/** A broken stream (cut, malformed, oversized), with the cause kept for the log. */
export function streamBroken(providerKind: string, what: string, cause?: unknown): ProviderError {
  return new ProviderError("stream_error", `${providerKind}: the provider's stream broke (${what})`, cause === undefined ? {} : { cause });
}

/**
 * The provider's short error code (or type) for logs, only when it looks like an identifier, so a
 * free-text field can never smuggle a message (or a key) through.
 */
function codeOf(err: WireError | undefined): string | undefined {
  for (const v of [err?.code, err?.type]) {
    const s = typeof v === "number" ? String(v) : v;
    if (typeof s === "string" && /^[A-Za-z0-9_.-]{1,64}$/.test(s)) return s;
  }
  return undefined;
}
