import { describe, expect, it } from "vitest";
import { parseRetryAfter } from "./retry-after.js";

describe("parseRetryAfter", () => {
  const now = Date.parse("2026-11-29T12:00:00Z");
  it("prefers retry-after-ms, then seconds, then an HTTP date", () => {
    expect(parseRetryAfter({ "retry-after-ms": "1500", "retry-after": "9" }, now)).toBe(1500);
    expect(parseRetryAfter({ "retry-after": "7" }, now)).toBe(7000);
    expect(parseRetryAfter({ "retry-after": "0.5" }, now)).toBe(500);
    expect(parseRetryAfter({ "retry-after": "Sun, 29 Nov 2026 12:00:30 GMT" }, now)).toBe(30_000);
  });
  it("ignores garbage, clamps past dates to zero and caps at one hour", () => {
    expect(parseRetryAfter({ "retry-after": "soon" }, now)).toBeUndefined();
    expect(parseRetryAfter({}, now)).toBeUndefined();
    expect(parseRetryAfter({ "retry-after": "Sun, 29 Nov 2026 11:00:00 GMT" }, now)).toBe(0);
    expect(parseRetryAfter({ "retry-after": "999999" }, now)).toBe(3_600_000);
    expect(parseRetryAfter({ "retry-after-ms": "-5", "retry-after": "2" }, now)).toBe(2000);
  });
  it("reads only the HTTP-date forms as dates: other text Date.parse happens to accept is garbage", () => {
    for (const garbage of ["-1", "-30", "1,5", "abc 5", "2 3", "tomorrow 1"]) expect(parseRetryAfter({ "retry-after": garbage }, now), garbage).toBeUndefined();
    expect(parseRetryAfter({ "retry-after": "Sunday, 29-Nov-26 12:00:30 GMT" }, now)).toBe(30_000);
    expect(parseRetryAfter({ "retry-after": "Sun Nov 29 12:00:30 2026" }, now)).toBe(30_000);
  });
});
