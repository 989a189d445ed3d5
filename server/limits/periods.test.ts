import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createPeriodCalendar, periodOf, type BudgetPeriodName } from "./periods.js";

const HOUR = 3_600_000;
const hours = (p: { start: Date; end?: Date }): number => (p.end!.getTime() - p.start.getTime()) / HOUR;
const iso = (d: Date | undefined): string | undefined => d?.toISOString();

describe("periodOf", () => {
  const at = new Date("2026-11-29T19:00:00Z"); // a Sunday

  it("names periods with stable keys", () => {
    expect(periodOf("daily", "UTC", at)).toEqual({ start: new Date("2026-11-29T00:00:00Z"), end: new Date("2026-11-30T00:00:00Z"), key: "2026-11-29" });
    expect(periodOf("weekly", "UTC", at)).toEqual({ start: new Date("2026-11-23T00:00:00Z"), end: new Date("2026-11-30T00:00:00Z"), key: "2026-W48" });
    expect(periodOf("monthly", "UTC", at)).toEqual({ start: new Date("2026-11-01T00:00:00Z"), end: new Date("2026-12-01T00:00:00Z"), key: "2026-11" });
    expect(periodOf("total", "UTC", at)).toEqual({ start: new Date(0), key: "total" });
  });

  it("aligns to the budget's zone, not UTC", () => {
    // 19:00 UTC on Sunday is already Monday 04:00 in Tokyo: a new day and a new ISO week.
    expect(periodOf("daily", "Asia/Tokyo", at).key).toBe("2026-11-30");
    expect(iso(periodOf("daily", "Asia/Tokyo", at).start)).toBe("2026-11-29T15:00:00.000Z");
    expect(periodOf("weekly", "Asia/Tokyo", at).key).toBe("2026-W49");
    expect(iso(periodOf("monthly", "Europe/Berlin", at).start)).toBe("2026-10-31T23:00:00.000Z");
    // Half- and quarter-hour offsets.
    expect(iso(periodOf("daily", "Asia/Kathmandu", at).start)).toBe("2026-11-29T18:15:00.000Z");
    expect(iso(periodOf("daily", "Asia/Kolkata", at).start)).toBe("2026-11-29T18:30:00.000Z");
  });

  it("starts weeks on Monday and numbers them by ISO 8601 across year ends", () => {
    expect(periodOf("weekly", "UTC", new Date("2026-11-23T00:00:00Z")).key).toBe("2026-W48");
    expect(periodOf("weekly", "UTC", new Date("2026-11-22T23:59:59.999Z")).key).toBe("2026-W47");
    // 2026 has 53 ISO weeks; 2027-01-01 (a Friday) still belongs to 2026-W53.
    expect(periodOf("weekly", "UTC", new Date("2027-01-01T12:00:00Z"))).toMatchObject({ key: "2026-W53", start: new Date("2026-12-28T00:00:00Z") });
    // 2026-01-01 (a Thursday) is in 2026-W01, whose Monday is in 2025.
    expect(periodOf("weekly", "UTC", new Date("2026-01-01T12:00:00Z"))).toMatchObject({ key: "2026-W01", start: new Date("2025-12-29T00:00:00Z") });
  });

  it("makes daylight-saving days 23 and 25 hours long", () => {
    const spring = periodOf("daily", "America/New_York", new Date("2026-03-08T12:00:00Z"));
    expect(spring).toMatchObject({ key: "2026-03-08", start: new Date("2026-03-08T05:00:00Z"), end: new Date("2026-03-09T04:00:00Z") });
    expect(hours(spring)).toBe(23);
    const fall = periodOf("daily", "America/New_York", new Date("2026-11-01T12:00:00Z"));
    expect(fall).toMatchObject({ key: "2026-11-01", start: new Date("2026-11-01T04:00:00Z"), end: new Date("2026-11-02T05:00:00Z") });
    expect(hours(fall)).toBe(25);
    expect(hours(periodOf("daily", "Europe/Berlin", new Date("2026-03-29T12:00:00Z")))).toBe(23);
    expect(hours(periodOf("daily", "Europe/Berlin", new Date("2026-10-25T12:00:00Z")))).toBe(25);
    // Lord Howe shifts by half an hour; the week and month containing a change are short too.
    expect(hours(periodOf("daily", "Australia/Lord_Howe", new Date("2026-10-04T12:00:00Z")))).toBe(23.5);
    expect(hours(periodOf("weekly", "America/New_York", new Date("2026-03-08T12:00:00Z")))).toBe(7 * 24 - 1);
    expect(hours(periodOf("monthly", "America/New_York", new Date("2026-11-15T12:00:00Z")))).toBe(30 * 24 + 1);
  });

  it("starts a day whose midnight does not exist at its first instant", () => {
    // Santiago springs forward at 24:00 on Saturday 2026-09-05: Sunday begins at 01:00 (-03).
    const day = periodOf("daily", "America/Santiago", new Date("2026-09-06T12:00:00Z"));
    expect(day).toMatchObject({ key: "2026-09-06", start: new Date("2026-09-06T04:00:00Z") });
    expect(periodOf("daily", "America/Santiago", new Date("2026-09-06T03:59:59.999Z")).key).toBe("2026-09-05");
    expect(hours(day)).toBe(23);
  });

  it("rejects unknown zones", () => {
    expect(() => periodOf("daily", "Mars/Olympus_Mons", at)).toThrow(RangeError);
    expect(() => createPeriodCalendar().periodOf("daily", "Not/AZone", at)).toThrow(RangeError);
  });

  const zones = ["UTC", "America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "America/Santiago", "Asia/Kathmandu", "Pacific/Kiritimati", "Pacific/Pago_Pago", "America/Havana", "Asia/Tehran"];
  const kinds: BudgetPeriodName[] = ["daily", "weekly", "monthly"];
  const instant = fc.integer({ min: Date.UTC(2020, 0, 1), max: Date.UTC(2035, 0, 1) });

  it("tiles time: every instant lies in exactly one period, each ending where the next starts (property)", () => {
    fc.assert(
      fc.property(fc.constantFrom(...kinds), fc.constantFrom(...zones), instant, (kind, tz, t) => {
        const p = periodOf(kind, tz, new Date(t));
        const start = p.start.getTime();
        const end = p.end!.getTime();
        if (!(start <= t && t < end)) return false;
        const next = periodOf(kind, tz, new Date(end));
        const previous = periodOf(kind, tz, new Date(start - 1));
        return next.start.getTime() === end && previous.end!.getTime() === start && next.key > p.key && previous.key < p.key;
      }),
      { numRuns: 300 },
    );
  });

  it("gives local days of 23 to 25 hours that start on the local date of their key (property)", () => {
    fc.assert(
      fc.property(fc.constantFrom(...zones), instant, (tz, t) => {
        const p = periodOf("daily", tz, new Date(t));
        const local = new Intl.DateTimeFormat("en-CA", { timeZone: tz, year: "numeric", month: "2-digit", day: "2-digit" }).format(p.start);
        return hours(p) >= 23 && hours(p) <= 25 && local === p.key;
      }),
      { numRuns: 300 },
    );
  });
});

describe("createPeriodCalendar", () => {
  it("rolls to the next period at the exact instant the cached one ends, and not a millisecond early (property)", () => {
    fc.assert(
      fc.property(
        fc.constantFrom<BudgetPeriodName>("daily", "weekly", "monthly"),
        fc.constantFrom("UTC", "America/New_York", "Asia/Kathmandu", "Australia/Lord_Howe"),
        fc.integer({ min: Date.UTC(2026, 0, 1), max: Date.UTC(2027, 0, 1) }),
        (kind, tz, t) => {
          const calendar = createPeriodCalendar();
          const period = calendar.periodOf(kind, tz, new Date(t)); // now cached
          const end = period.end!.getTime();
          expect(calendar.periodOf(kind, tz, new Date(end - 1))).toBe(period);
          const next = calendar.periodOf(kind, tz, new Date(end));
          expect(next).toEqual(periodOf(kind, tz, new Date(end)));
          expect(next.start.getTime()).toBe(end);
          // And back: the instant before the new period's start is in the old one again.
          expect(calendar.periodOf(kind, tz, new Date(end - 1)).key).toBe(period.key);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("answers like periodOf, from its cache inside a period (property)", () => {
    const calendar = createPeriodCalendar();
    fc.assert(
      fc.property(
        fc.constantFrom<BudgetPeriodName>("daily", "weekly", "monthly", "total"),
        fc.constantFrom("UTC", "America/New_York", "Asia/Tokyo"),
        fc.integer({ min: Date.UTC(2026, 0, 1), max: Date.UTC(2026, 2, 1) }),
        (kind, tz, t) => {
          expect(calendar.periodOf(kind, tz, new Date(t))).toEqual(periodOf(kind, tz, new Date(t)));
        },
      ),
      { numRuns: 300 },
    );
  });
});
