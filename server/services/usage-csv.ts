/**
 * CSV as RFC 4180 writes it: fields separated by commas, records ended by CRLF, and a field that
 * holds a comma, a double quote, CR or LF enclosed in double quotes with each inner quote doubled.
 * Every other field is written as is, so numbers stay numbers to a spreadsheet.
 *
 * Many cells are tenants' text (tags, key and team names, model ids), and a spreadsheet runs a
 * cell that starts with `=`, `+`, `-` or `@` as a formula (`=HYPERLINK(…)`, DDE payloads), some
 * after stripping a leading TAB or CR. Such a cell is written with a single quote in front (OWASP
 * "CSV Injection"), so it is shown as text; quoting alone would not help, as the spreadsheet
 * removes the quotes before it looks. A number (`-42`, `3.5`) starts with `-` too but runs
 * nothing, and is left as it is so totals and negative amounts stay numbers.
 */

/** A cell a spreadsheet would run as a formula. */
const FORMULA = /^[=+\-@\t\r]/;
/** A plain decimal number, which a spreadsheet reads as a number whatever its sign. */
const NUMBER = /^-?\d+(\.\d+)?$/;

/** One field, neutralised when a spreadsheet would run it, quoted when RFC 4180 requires it. */
export function csvField(value: string): string {
  const text = FORMULA.test(value) && !NUMBER.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** One record, CRLF-terminated. */
export function csvRecord(fields: readonly string[]): string {
  return `${fields.map(csvField).join(",")}\r\n`;
}

/**
 * Groups text into byte chunks of about `size` bytes (never splitting a record), for streaming
 * a large export without holding it whole.
 */
export function createChunker(size: number): { push(text: string): Uint8Array | undefined; end(): Uint8Array | undefined } {
  const encoder = new TextEncoder();
  let pending: string[] = [];
  let bytes = 0;
  const take = () => {
    const out = encoder.encode(pending.join(""));
    pending = [];
    bytes = 0;
    return out;
  };
  return {
    push(text) {
      pending.push(text);
      bytes += Buffer.byteLength(text, "utf8");
      return bytes >= size ? take() : undefined;
    },
    end: () => (bytes > 0 ? take() : undefined),
  };
}
