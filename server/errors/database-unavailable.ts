import { Code, ConnectError } from "@connectrpc/connect";
import { isDatabaseUnreachable } from "../store/unreachable.js";

/**
 * `err` as callers see it when it says the database could not be reached: `Unavailable`, theirs
 * to retry (P8), not the `Internal` of a server bug; `undefined` for any other error. The cause is
 * kept for the log.
 */
export function databaseUnavailable(err: unknown): ConnectError | undefined {
  if (!isDatabaseUnreachable(err)) return undefined;
  return new ConnectError("the database is unavailable; retry shortly", Code.Unavailable, undefined, undefined, err);
}
