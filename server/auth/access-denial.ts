import type { JsonValue } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";

/** Which access decision refused the call. */
export type AccessDenialReason = "scope" | "route";

/**
 * The typed marker of an access decision's refusal, carried as the `cause` of its
 * `PermissionDenied`: the caller's key lacks the method's scope, or may not use the route it
 * named. It is what tells such a refusal apart from other `PermissionDenied`s — a guardrail's
 * content-policy block, an admin check inside a handler — without reading message text, so the
 * audit log records access decisions on every front door and never content-policy refusals.
 */
export class AccessDenial {
  /**
   * @param reason the decision that refused the call.
   * @param refused what was refused, as the audit record keeps it (`{ route }`); never user content.
   */
  constructor(
    readonly reason: AccessDenialReason,
    readonly refused: JsonValue | null = null,
  ) {}
}

/** What a refused route is recorded as on every front door: the alias asked for. */
export function refusedRoute(route: string): JsonValue {
  return { route };
}

/** A `PermissionDenied` for callers, carrying `denial` as its cause (see {@link AccessDenial}). */
export function accessDenied(message: string, denial: AccessDenial): ConnectError {
  return new ConnectError(message, Code.PermissionDenied, undefined, undefined, denial);
}

/** The access decision behind `err`, when `err` is the `PermissionDenied` of one; else `undefined`. */
export function accessDenialOf(err: unknown): AccessDenial | undefined {
  if (!(err instanceof ConnectError) || err.code !== Code.PermissionDenied) return undefined;
  return err.cause instanceof AccessDenial ? err.cause : undefined;
}
