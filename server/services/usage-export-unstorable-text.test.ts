/**
 * ExportUsage is the one admin RPC that streams its answer, so its request reaches the handler as
 * a stream. A string in its query that Postgres cannot take as a parameter — a NUL in a filter,
 * a tag key, `group_by_tag` — is bad input, `InvalidArgument` naming the
 * field as QueryUsage answers for the same query, never the `Internal` of the database's refusal.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UsageDimension } from "../../gen/ts/switchboard/v1/usage_service_pb.js";
import type { TestGateway } from "../../test/support/gateway.js";
import { startPostgresGateway } from "../../test/support/postgres-gateway.js";
import { moneyClients, type MoneyClients } from "../../test/support/money.js";

let gw: TestGateway;
let admin: MoneyClients;

beforeAll(async () => {
  gw = await startPostgresGateway();
  admin = moneyClients(gw.url, gw.adminKey);
});
afterAll(async () => {
  await gw?.close();
});

const outcome = (p: Promise<unknown>) =>
  p.then(
    () => "ok",
    (e: unknown) => `${Code[ConnectError.from(e).code]}: ${ConnectError.from(e).rawMessage}`,
  );
const range = { parent: "orgs/system", startTime: { seconds: 0n, nanos: 0 }, endTime: { seconds: 2_000_000_000n, nanos: 0 } };

describe("ExportUsage with text Postgres cannot store", () => {
  const cases = [
    { name: "a route filter with a NUL", query: { filter: { routes: ["a\u0000b"] } }, field: "query.filter.routes[0]" },
    { name: "a tag filter's key with a NUL", query: { filter: { tags: { "a\u0000": "x" } } }, field: 'query.filter.tags["a\uFFFD"]' },
    { name: "group_by_tag with a NUL", query: { groupBy: [UsageDimension.TAG], groupByTag: "a\u0000" }, field: "query.group_by_tag" },
  ];
  for (const c of cases) {
    it(`answers InvalidArgument naming the field, as QueryUsage does: ${c.name}`, async () => {
      const exported = async () => {
        for await (const _ of admin.usage.exportUsage({ query: { ...range, ...c.query } })) void _;
      };
      const refusal = `InvalidArgument: ${c.field}: must be well-formed Unicode without U+0000 (NUL)`;
      expect({ export: await outcome(exported()), query: await outcome(admin.usage.queryUsage({ ...range, ...c.query })) }).toEqual({
        export: refusal,
        query: refusal.replace("query.", ""),
      });
    });
  }
});
