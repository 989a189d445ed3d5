/** A UTF-16 surrogate without its pair: JavaScript strings may hold one, Postgres text cannot. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const LONE_SURROGATES = new RegExp(LONE_SURROGATE.source, "g");

/**
 * Whether `text` can be stored in Postgres `text` and `jsonb` as it is: no U+0000 (NUL), which
 * Postgres refuses in both, and no unpaired surrogate (which a JSON body's `\udc00` escape gives
 * a JavaScript string; `jsonb` refuses its escape, and UTF-8 cannot encode it). A call's tag values
 * and end user are recorded on its usage-ledger rows, so both surfaces refuse such text in them
 * where the call is parsed (`InvalidArgument`): let through, it would make the call's ledger rows
 * unstorable after the provider was paid.
 */
export function storableText(text: string): boolean {
  return !text.includes("\0") && !LONE_SURROGATE.test(text);
}

/** What a refusal of unstorable text says after the field's name. */
export const UNSTORABLE_TEXT = "must be well-formed Unicode without U+0000 (NUL)";

/** `text` with each NUL and unpaired surrogate replaced by U+FFFD, for what is kept for reading rather than refused (logs). */
export function storableCopy(text: string): string {
  return storableText(text) ? text : text.replace(LONE_SURROGATES, "\uFFFD").replace(/\0/g, "\uFFFD");
}
