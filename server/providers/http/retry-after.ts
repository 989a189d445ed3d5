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
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : cap(date - now);
}
