/**
 * ListUsageRecords' page position is `[occurred_at, call_id, attempt]` as JSON, and
 * anyone can build a token (the query hash covers only the request's own fields). `isUsageCursor`
 * checks its shape but lets through a `call_id` holding U+0000 and a time JavaScript accepts but
 * Postgres cannot hold (before 4713 BC): both reach the database and fail the call as `internal`
 * instead of `invalid_argument` (the group cursor of QueryUsage refuses the NUL; this one does not).
 */
import { create, toJsonString } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ListUsageRecordsRequestSchema } from "../../gen/ts/switchboard/v1/usage_service_pb.js";
import { nextPageToken } from "../../server/services/page-token.js";
import { clientsFor, outcome, type KeyedClients } from "../support/clients.js";
import type { TestGateway } from "../support/gateway.js";
import { startPostgresGateway } from "../support/postgres-gateway.js";

const lastHour = () => ({
  parent: "orgs/system",
  startTime: timestampFromDate(new Date(Date.now() - 3_600_000)),
  endTime: timestampFromDate(new Date(Date.now() + 3_600_000)),
});

describe("ListUsageRecords with an edited page position", () => {
  let gw: TestGateway;
  let platform: KeyedClients;

  beforeAll(async () => {
    gw = await startPostgresGateway();
    platform = clientsFor(gw.url, gw.adminKey);
  });
  afterAll(async () => {
    await gw?.close();
  });

  it("is InvalidArgument, never Internal", async () => {
    const query = lastHour();
    const hash = `ListUsageRecords ${toJsonString(ListUsageRecordsRequestSchema, create(ListUsageRecordsRequestSchema, query))}`;
    const positions = {
      nulCallId: JSON.stringify([new Date().toISOString(), "\u0000", 0]),
      beforePostgresTime: JSON.stringify(["-100000-01-01T00:00:00.000Z", "c", 0]),
    };
    const got: Record<string, string> = {};
    for (const [name, after] of Object.entries(positions)) {
      got[name] = await outcome(platform.usage.listUsageRecords({ ...query, pageToken: nextPageToken(after, hash) }));
    }
    expect(got).toEqual({ nulCallId: "InvalidArgument", beforePostgresTime: "InvalidArgument" });
  });
});
