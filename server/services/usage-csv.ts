/**
 * CSV as RFC 4180 writes it: fields separated by commas, records ended by CRLF, and a field that
 * holds a comma, a double quote, CR or LF enclosed in double quotes with each inner quote doubled.
 * Every other field is written as is, so numbers stay numbers to a spreadsheet.
 */

/** One field, quoted when RFC 4180 requires it. */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
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
