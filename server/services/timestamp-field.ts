import { timestampMs, type Timestamp } from "@bufbuild/protobuf/wkt";
import { fieldViolation } from "../errors/field-violation.js";

/** A Timestamp's valid seconds (0001-01-01 to 9999-12-31, UTC): its JSON form is refused outside them. */
const MIN_SECONDS = -62_135_596_800n;
const MAX_SECONDS = 253_402_300_799n;

/**
 * `ts`, refused with `invalid_argument` naming `field` when it is outside a Timestamp's range: the
 * binary form carries any int64, which as a Date is invalid or before Postgres's first timestamp,
 * so the statement it reaches would fail as `internal`.
 */
export function checkedTimestamp(ts: Timestamp, field: string): Timestamp {
  if (ts.seconds < MIN_SECONDS || ts.seconds > MAX_SECONDS || ts.nanos < 0 || ts.nanos > 999_999_999) {
    throw fieldViolation(field, "outside 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999999Z", "timestamp.range");
  }
  return ts;
}

/** The last millisecond a Timestamp's range holds: 9999-12-31T23:59:59.999Z. */
const MAX_MS = Number(MAX_SECONDS) * 1000 + 999;

/**
 * `ts` (checked as {@link checkedTimestamp}) as a Date, for a time that is stored and shown again.
 * Dates hold milliseconds, and rounding the range's last half millisecond to the nearest gave
 * 10000-01-01, which the JSON form cannot carry: every answer holding it (the write's own, later
 * reads) failed as `internal`. That half millisecond is kept as the range's last millisecond.
 */
export function checkedDate(ts: Timestamp, field: string): Date {
  return new Date(Math.min(timestampMs(checkedTimestamp(ts, field)), MAX_MS));
}
