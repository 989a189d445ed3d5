/**
 * How long a provider asked us to wait, from `retry-after-ms` (OpenAI, Azure), `retry-after` in
 * seconds, or `retry-after` as an HTTP date. Undefined when absent or unparseable; never negative;
 * capped at one hour so a hostile header cannot park a request forever.
 */
export function parseRetryAfter(headers: Readonly<Record<string, string | string[] | undefined>>, now = Date.now()): number | undefined {
  const first = (name: string) => {
    const v = headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  const cap = (ms: number) => Math.min(Math.max(0, Math.round(ms)), 3_600_000);
  const ms = first("retry-after-ms");
  if (ms !== undefined && /^\d+(\.\d+)?$/.test(ms.trim())) return cap(Number(ms));
  const value = first("retry-after")?.trim();
  if (value === undefined || value === "") return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return cap(Number(value) * 1000);
  // Only the HTTP-date forms: Date.parse also reads "-1" or "1,5" as dates long past, which would
  // turn garbage into "retry now".
  const form = HTTP_DATE.exec(value);
  if (form === null) return undefined;
  const date = Date.parse(form[1] === undefined ? value : `${value} GMT`);
  return Number.isNaN(date) ? undefined : cap(date - now);
}

/**
 * The three HTTP-date forms (RFC 9110 §5.6.7): IMF-fixdate and RFC 850 (both in GMT), and asctime
 * (no zone, GMT meant: its year is captured so the zone can be added).
 */
const HTTP_DATE = /^[A-Za-z]{3,9},? +(?:\d{1,2}[ -][A-Za-z]{3}[ -]\d{2,4} +\d{2}:\d{2}:\d{2} +GMT|[A-Za-z]{3} +\d{1,2} +\d{2}:\d{2}:\d{2} +(\d{4}))$/;
