/**
 * Whether a failed write was refused for what the rows hold (a data exception or a violated
 * constraint: SQLSTATE classes 22 and 23) rather than for an outage. The usage ledger dead-letters
 * only such rows and retries every other failure; the request log drops them and writes the rest.
 */
export function isRowRejection(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" && /^2[23][0-9A-Z]{3}$/.test(code);
}
