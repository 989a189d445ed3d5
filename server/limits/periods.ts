/** How often a budget's spend resets (the proto's BudgetPeriod, provider-neutral). */
export type BudgetPeriodName = "daily" | "weekly" | "monthly" | "total";

/** One budget period: the half-open interval `[start, end)` and its stable name. */
export interface Period {
  start: Date;
  /** Absent for `total`, which never ends. */
  end?: Date;
  /**
   * Stable, human-readable name of the period, used in counter keys and reports: `2026-11-29`
   * (daily), `2026-W48` (weekly, ISO week of the Monday that starts it), `2026-11` (monthly),
   * `total`.
   */
  key: string;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** A calendar date, months 1-based. */
interface LocalDate {
  y: number;
  m: number;
  d: number;
}

/**
 * The period of kind `period` containing `at`, calendar-aligned in the IANA time zone `tz`:
 * days start at local midnight, weeks on Monday, months on the 1st.
 *
 * Boundaries are real instants, so a day is 23 or 25 hours long on a daylight-saving change,
 * and a day whose midnight does not exist (zones that spring forward at 00:00) starts at the
 * first instant of its date. Consecutive periods tile time exactly — each one's `end` is the
 * next one's `start` — so every instant belongs to exactly one period. Offsets come from
 * `Intl.DateTimeFormat` (the runtime's tz database), never from a fixed table.
 *
 * Throws `RangeError` for an unknown time zone.
 */
export function periodOf(period: BudgetPeriodName, tz: string, at: Date): Period {
  return period === "total" ? TOTAL : computePeriod(period, createZone(tz), at);
}

/** {@link periodOf} with memory: what a hot path holding a few budgets calls per request. */
export interface PeriodCalendar {
  /** Same contract as {@link periodOf}. */
  periodOf(period: BudgetPeriodName, tz: string, at: Date): Period;
}

/**
 * A {@link PeriodCalendar} that keeps one formatter per time zone and the last period computed
 * per (kind, zone), so a call inside that period costs two comparisons instead of ~150 µs of
 * `Intl` work. Both caches are bounded by the number of zones in use. The periods it returns
 * are shared: treat them (their dates included) as read-only.
 */
export function createPeriodCalendar(): PeriodCalendar {
  const zones = new Map<string, Zone>();
  const last = new Map<string, Period>();
  return {
    periodOf(period, tz, at) {
      if (period === "total") return TOTAL;
      const id = `${period} ${tz}`;
      const t = at.getTime();
      const cached = last.get(id);
      if (cached !== undefined && cached.start.getTime() <= t && t < cached.end!.getTime()) return cached;
      let zone = zones.get(tz);
      if (zone === undefined) {
        zone = createZone(tz);
        zones.set(tz, zone);
      }
      const result = computePeriod(period, zone, at);
      last.set(id, result);
      return result;
    },
  };
}

const TOTAL: Period = Object.freeze({ start: new Date(0), key: "total" });

function computePeriod(period: "daily" | "weekly" | "monthly", zone: Zone, at: Date): Period {
  const t = at.getTime();
  if (!Number.isFinite(t)) throw new RangeError("periodOf: invalid date");
  let first = firstDayOf(period, zone.dateAt(t));
  let start = zone.startOf(first);
  if (t < start) {
    // Only around a fall-back across midnight can `at`'s local date lie after its period's start.
    first = firstDayOf(period, addDays(first, -1));
    start = zone.startOf(first);
  }
  let next = nextFirstDay(period, first);
  let end = zone.startOf(next);
  if (t >= end) {
    first = next;
    start = end;
    next = nextFirstDay(period, first);
    end = zone.startOf(next);
  }
  return Object.freeze({ start: new Date(start), end: new Date(end), key: keyOf(period, first) });
}

function firstDayOf(period: "daily" | "weekly" | "monthly", date: LocalDate): LocalDate {
  switch (period) {
    case "daily":
      return date;
    case "weekly":
      return addDays(date, -((weekday(date) + 6) % 7));
    case "monthly":
      return { y: date.y, m: date.m, d: 1 };
  }
}

function nextFirstDay(period: "daily" | "weekly" | "monthly", first: LocalDate): LocalDate {
  switch (period) {
    case "daily":
      return addDays(first, 1);
    case "weekly":
      return addDays(first, 7);
    case "monthly":
      return fromUtc(Date.UTC(first.y, first.m, 1));
  }
}

function keyOf(period: "daily" | "weekly" | "monthly", first: LocalDate): string {
  switch (period) {
    case "daily":
      return `${first.y}-${pad(first.m)}-${pad(first.d)}`;
    case "weekly": {
      // ISO 8601: the week belongs to the year of its Thursday, and week 1 holds January 4th.
      const thursday = addDays(first, 3);
      const dayOfYear = (Date.UTC(thursday.y, thursday.m - 1, thursday.d) - Date.UTC(thursday.y, 0, 1)) / DAY;
      return `${thursday.y}-W${pad(Math.floor(dayOfYear / 7) + 1)}`;
    }
    case "monthly":
      return `${first.y}-${pad(first.m)}`;
  }
}

/** Local-date arithmetic in one IANA zone. */
interface Zone {
  /** The local calendar date at instant `t`. */
  dateAt(t: number): LocalDate;
  /** The first instant (epoch ms) whose local date is `date` or later. */
  startOf(date: LocalDate): number;
}

function createZone(tz: string): Zone {
  let format: Intl.DateTimeFormat;
  try {
    format = new Intl.DateTimeFormat("en-US", {
      timeZone: tz,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
  } catch {
    throw new RangeError(`unknown time zone "${tz}"`);
  }
  /** The local wall-clock time at `t`, written as if it were UTC (epoch ms). */
  const wallAt = (t: number): number => {
    const parts: Record<string, number> = {};
    for (const part of format.formatToParts(t)) if (part.type !== "literal") parts[part.type] = Number(part.value);
    const whole = Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!);
    return whole + (((t % 1000) + 1000) % 1000);
  };
  return {
    dateAt: (t) => fromUtc(wallAt(t)),
    startOf(date) {
      const midnight = Date.UTC(date.y, date.m - 1, date.d);
      const reached = (t: number): boolean => wallAt(t) >= midnight;
      // UTC offsets lie within −12 h … +14 h, so 15 h before local midnight read as UTC is still
      // the previous local day. Walk forward by the wall-clock distance left: exact unless an
      // offset change lies in between, after which the binary search finds the first instant.
      let before = midnight - 15 * HOUR;
      let t = before;
      for (let step = 0; step < 8 && !reached(t); step++) {
        before = t;
        t += midnight - wallAt(t);
      }
      if (!reached(t)) throw new Error(`no start found for ${date.y}-${date.m}-${date.d} in ${tz}`);
      if (!reached(t - 1)) return t;
      while (t - before > 1) {
        const mid = before + Math.floor((t - before) / 2);
        if (reached(mid)) t = mid;
        else before = mid;
      }
      return t;
    },
  };
}

function fromUtc(ms: number): LocalDate {
  const date = new Date(ms);
  return { y: date.getUTCFullYear(), m: date.getUTCMonth() + 1, d: date.getUTCDate() };
}

function addDays(date: LocalDate, days: number): LocalDate {
  return fromUtc(Date.UTC(date.y, date.m - 1, date.d + days));
}

/** 0 = Sunday … 6 = Saturday. */
function weekday(date: LocalDate): number {
  return new Date(Date.UTC(date.y, date.m - 1, date.d)).getUTCDay();
}

const pad = (n: number): string => String(n).padStart(2, "0");
