import { Code, ConnectError } from "@connectrpc/connect";

/** The canonical snake_case code name (`invalid_argument`), as Connect writes it on the wire. */
export function codeName(code: Code): string {
  return Code[code].replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase();
}

/** `ok` for no error, else the canonical code name of `err` (anything not a ConnectError is `internal`). */
export function outcomeCode(err: unknown): string {
  if (err === undefined) return "ok";
  return codeName(err instanceof ConnectError ? err.code : Code.Internal);
}

/**
 * For a `ResourceExhausted` refusal: the short type name of its first detail (`BudgetExceeded`,
 * `RateLimitExceeded`), or `none`; undefined for any other error. A bounded metric label.
 */
export function refusalDetail(err: unknown): string | undefined {
  if (!(err instanceof ConnectError) || err.code !== Code.ResourceExhausted) return undefined;
  const first = err.details[0];
  if (first === undefined) return "none";
  const typeName = "desc" in first ? first.desc.typeName : first.type;
  return typeName.slice(typeName.lastIndexOf(".") + 1) || "none";
}
