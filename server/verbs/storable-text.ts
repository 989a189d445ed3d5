/**
 * Whether `text` can be stored in Postgres `text` and `jsonb`: everything but U+0000 (NUL), which
 * Postgres refuses in both. A call's tag values and end user are recorded on its usage-ledger rows,
 * so both surfaces refuse a NUL in them where the call is parsed (`InvalidArgument`): let through,
 * it would make the call's ledger rows unstorable after the provider was paid.
 */
export function storableText(text: string): boolean {
  return !text.includes("\0");
}

/** `text` with each NUL replaced by U+FFFD, for what is kept for reading rather than refused (the request log). */
export function storableCopy(text: string): string {
  return storableText(text) ? text : text.replace(/\0/g, "\uFFFD");
}
