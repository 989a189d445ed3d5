import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";

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
    throw new ConnectError(`${field}: outside 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999999Z`, Code.InvalidArgument);
  }
  return ts;
}
