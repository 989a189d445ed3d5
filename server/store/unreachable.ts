/**
 * Whether `err` says the database could not be reached — the connection was refused, reset,
 * timed out or ended, the server is shutting down or refuses connections, or it could not finish
 * the statement within its `statement_timeout` — rather than that the query itself is wrong. Such a failure is the caller's to retry (`Unavailable`, P8), never
 * a server bug (`Internal`).
 */
export function isDatabaseUnreachable(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && (NETWORK_CODES.has(code) || SQLSTATES.has(code) || code.startsWith("08"))) return true;
    if (CONNECTION_MESSAGES.some((m) => e instanceof Error && e.message.startsWith(m))) return true;
    // Node reports a refused connection to a host with several addresses as an AggregateError.
    if (e instanceof AggregateError && e.errors.some((inner) => isDatabaseUnreachable(inner))) return true;
  }
  return false;
}

/** Socket-level failures (node `errno` codes). */
const NETWORK_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND", "EAI_AGAIN"]);

/**
 * SQLSTATEs of a server that is going away or not taking connections (class 08 is matched by
 * prefix), and 57014, a statement cancelled (by `statement_timeout`, `database.statementTimeoutMs`):
 * a server too slow or blocked for now, worth a retry, not a bug of the query.
 */
const SQLSTATES = new Set(["57P01", "57P02", "57P03", "53300", "57014"]);

/** What `pg` throws when a connection ends or cannot be made in time. */
const CONNECTION_MESSAGES = ["Connection terminated", "timeout exceeded when trying to connect", "Client has encountered a connection error"];
