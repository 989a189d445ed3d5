import { createHash } from "node:crypto";
import type { ConnectError } from "@connectrpc/connect";
import { fieldViolation } from "../errors/field-violation.js";
import type { PageRequest } from "../store/paging.js";
import { storableText } from "../store/storable-text.js";

/** `page_size` 0 means this many. */
export const DEFAULT_PAGE_SIZE = 50;
/** The largest page (the schema's validation rules enforce it too). */
export const MAX_PAGE_SIZE = 1000;

/**
 * The page a List request asks for. The token is opaque to callers: base64url JSON holding the
 * last internal id returned and a hash of the query it belongs to, so a token replayed against a
 * different parent or filter is refused (`InvalidArgument`) instead of silently skipping rows.
 * Tokens grant nothing: every page is still limited to the caller's org scope.
 */
export function pageRequest(pageSize: number, pageToken: string, query: string): PageRequest {
  const limit = Math.min(pageSize > 0 ? pageSize : DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE);
  if (pageToken === "") return { limit };
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(pageToken, "base64url").toString("utf8"));
  } catch {
    decoded = undefined;
  }
  const token = decoded as { a?: unknown; q?: unknown } | undefined;
  // A position Postgres cannot take as text (a NUL) would fail the query as `Internal`: no token
  // this gateway hands out holds one, so it is a forged token like any other.
  if (typeof token?.a !== "string" || token.q !== queryHash(query) || !storableText(token.a)) throw invalidPageToken();
  return { limit, after: token.a };
}

/**
 * The error for a page token that is not one this query handed out. The query hash does not
 * cover the position (anyone can rebuild a token), so a list whose position is not an opaque id
 * checks its form with this before it reaches the database.
 */
export function invalidPageToken(): ConnectError {
  return fieldViolation("page_token", "not a token from this query's previous page", "page_token.issued");
}

/** A position that is a non-negative integer of at most `maxDigits` digits (a row number, a version). */
export function isPagePosition(after: string, maxDigits: number): boolean {
  return after.length <= maxDigits && /^\d+$/.test(after);
}

/** The `next_page_token` continuing after internal id `after`; empty when there is no next page. */
export function nextPageToken(after: string | undefined, query: string): string {
  if (after === undefined) return "";
  return Buffer.from(JSON.stringify({ a: after, q: queryHash(query) }), "utf8").toString("base64url");
}

function queryHash(query: string): string {
  return createHash("sha256").update(query).digest("base64url").slice(0, 16);
}
