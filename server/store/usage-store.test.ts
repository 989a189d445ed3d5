import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { useMigratedDatabase } from "../../test/support/migrated-database.js";
import { ledgerRecord } from "../limits/ledger-testing.js";
import { createLimitStore, type LimitStore } from "./limit-store.js";
import { isRowRejection } from "./row-rejection.js";
import { createUsageStore, type UsageRecordRow, type UsageStore } from "./usage-store.js";

let usage: UsageStore;
let limits: LimitStore;

const database = useMigratedDatabase();

beforeAll(async () => {
  usage = createUsageStore(database().db);
  limits = createLimitStore(database().db);
  await database().db.insertInto("orgs").values({ id: "org_a", name: "acme" }).execute();
  await database().db.insertInto("teams").values({ id: "team_a", org_id: "org_a", name: "web" }).execute();
});

const day = (d: number, h = 0) => new Date(Date.UTC(2026, 10, d, h, 30));

describe("usage store", () => {
  it("inserts a batch once: a replay of the same (call_id, attempt) adds nothing", async () => {
    const rows = [ledgerRecord({ callId: "dup", attempt: 1 }), ledgerRecord({ callId: "dup", attempt: 2 })];
    expect(await usage.insertBatch(rows)).toBe(2);
    expect(await usage.insertBatch(rows)).toBe(0);
    const listed = await usage.list({ start: day(1), end: day(30), requestId: "req-1", limit: 10 });
    expect(listed.items.filter((r) => r.callId === "dup")).toHaveLength(2);
  });

  it("refuses a row with negative tokens as a row rejection (dead-letter material)", async () => {
    const err = await usage.insertBatch([ledgerRecord({ callId: "bad", inputTokens: -5 })]).catch((e: unknown) => e);
    expect(isRowRejection(err)).toBe(true);
    expect(isRowRejection(new Error("connect ECONNREFUSED"))).toBe(false);
  });

  it("keeps a dead letter once: the same record submitted again, or twice in one call, adds nothing", async () => {
    const before = await usage.deadLetterCount();
    const refused = { record: '{"callId":"dead-1"}', error: "violates check constraint" };
    await usage.deadLetter([refused]);
    await usage.deadLetter([{ ...refused, error: "another reason" }, { record: "not json", error: "unreadable" }, { record: "not json", error: "unreadable" }]);
    expect((await usage.deadLetterCount()) - before).toBe(2n);
    const kept = await database().db.selectFrom("usage_dead_letters").select(["record", "error"]).where("record", "in", [refused.record, "not json"]).orderBy("id").execute();
    expect(kept).toEqual([refused, { record: "not json", error: "unreadable" }]);
  });

  it("aggregates by any dimensions and bucket with totals equal to the sum of the rows (property)", async () => {
    const arbRow = fc.record({
      team: fc.constantFrom("team_a", "team_b"),
      key: fc.constantFrom("key_1", "key_2", "key_3"),
      model: fc.constantFrom("m1", "m2"),
      tag: fc.constantFrom("search", "chat", undefined),
      day: fc.integer({ min: 2, max: 4 }),
      hour: fc.integer({ min: 0, max: 23 }),
      cost: fc.bigInt({ min: 0n, max: 10n ** 12n }),
      input: fc.nat({ max: 100_000 }),
      attempt: fc.integer({ min: 0, max: 3 }),
    });
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(arbRow, { minLength: 1, maxLength: 40 }), async (spec) => {
        const orgId = `org_prop_${run++}`;
        const rows: UsageRecordRow[] = spec.map((s, i) =>
          ledgerRecord({
            callId: `${orgId}-${i}`,
            attempt: s.attempt,
            requestId: `${orgId}-r${i % 5}`,
            orgId,
            teamId: s.team,
            keyId: s.key,
            model: s.model,
            tags: s.tag === undefined ? {} : { feature: s.tag },
            costMicros: s.cost,
            inputTokens: s.input,
            occurredAt: day(s.day, s.hour),
          }),
        );
        await usage.insertBatch(rows);
        const range = { orgId, start: day(1), end: day(30) };
        const totals = await usage.totals(range);
        const sum = rows.reduce((a, r) => a + r.costMicros, 0n);
        expect(totals.costMicros).toBe(sum);
        expect(totals.inputTokens).toBe(BigInt(rows.reduce((a, r) => a + r.inputTokens, 0)));
        expect(totals.cacheHits + totals.attempts).toBe(BigInt(rows.length));
        for (const [groupBy, bucket] of [[["team", "key"], "day"], [["tag"], "hour"], [["model", "verb"], undefined]] as const) {
          const { rows: groups, next } = await usage.aggregate({ ...range, groupBy, bucket, tagKey: "feature", limit: 10_000 });
          expect(next).toBeUndefined();
          expect(groups.reduce((a, g) => a + g.totals.costMicros, 0n)).toBe(sum);
          expect(groups.reduce((a, g) => a + g.totals.attempts + g.totals.cacheHits, 0n)).toBe(BigInt(rows.length));
        }
      }),
      { numRuns: 15 },
    );
  });

  it("pages aggregates and rows, oldest rows first", async () => {
    const orgId = "org_page";
    await usage.insertBatch(Array.from({ length: 7 }, (_, i) => ledgerRecord({ callId: `pg-${i}`, orgId, model: `m${i}`, occurredAt: day(5, i) })));
    const q = { orgId, start: day(1), end: day(30), groupBy: ["model"] as const, limit: 4 };
    const first = await usage.aggregate(q);
    const second = await usage.aggregate({ ...q, after: first.next!.key });
    expect(second.next).toBeUndefined();
    expect([...first.rows, ...second.rows].map((r) => r.group.model)).toEqual(["m0", "m1", "m2", "m3", "m4", "m5", "m6"]);
    const seen: string[] = [];
    let after: string | undefined;
    do {
      const page = await usage.list({ orgId, start: day(1), end: day(30), limit: 3, ...(after ? { after } : {}) });
      seen.push(...page.items.map((r) => r.callId));
      after = page.after;
    } while (after !== undefined);
    expect(seen).toEqual(Array.from({ length: 7 }, (_, i) => `pg-${i}`));
  });

  it("continues an aggregation after a key cursor and after a digest cursor alike, by bucket then dimensions", async () => {
    const orgId = "org_seek";
    // Same model on two days, a tag absent ('' like an empty value) and present: the key's columns
    // order the pages, the bucket first.
    const spec: { model: string; tags: Record<string, string>; d: number }[] = [
      { model: "b", tags: {}, d: 6 },
      { model: "a", tags: { f: "x" }, d: 6 },
      { model: "a", tags: {}, d: 5 },
      { model: "b", tags: { f: "" }, d: 5 },
      { model: "a", tags: { f: "y" }, d: 6 },
    ];
    await usage.insertBatch(spec.map((s, i) => ledgerRecord({ callId: `seek-${i}`, orgId, model: s.model, tags: s.tags, occurredAt: day(s.d) })));
    const q = { orgId, start: day(1), end: day(30), groupBy: ["model", "tag"] as const, tagKey: "f", bucket: "day" as const, limit: 1 };
    const walk = async (form: "key" | "digest") => {
      const seen: string[] = [];
      let after: string | undefined;
      do {
        const page = await usage.aggregate({ ...q, ...(after === undefined ? {} : { after }) });
        seen.push(...page.rows.map((r) => `${r.bucketStart!.getUTCDate()}/${r.group.model}/${r.group.tag}`));
        after = page.next?.[form];
      } while (after !== undefined);
      return seen;
    };
    const expected = ["5/a/", "5/b/", "6/a/x", "6/a/y", "6/b/"];
    expect({ key: await walk("key"), digest: await walk("digest") }).toEqual({ key: expected, digest: expected });
  });

  it("sums a budget's spend per level and period", async () => {
    const orgId = "org_spend";
    await usage.insertBatch([
      ledgerRecord({ callId: "s1", orgId, teamId: "t1", keyId: "k1", costMicros: 100n, tags: { f: "x" }, occurredAt: day(10) }),
      ledgerRecord({ callId: "s2", orgId, teamId: "t1", keyId: "k2", costMicros: 30n, occurredAt: day(10) }),
      ledgerRecord({ callId: "s3", orgId, teamId: "t2", keyId: "k3", costMicros: 7n, tags: { f: "x" }, occurredAt: day(11) }),
    ]);
    const spent = (level: "org" | "team" | "key" | "tag", targetId: string, end?: Date) => usage.spent({ orgId, level, targetId, start: day(10), ...(end ? { end } : {}) });
    expect(await spent("org", "")).toBe(137n);
    expect(await spent("team", "t1")).toBe(130n);
    expect(await spent("key", "k3")).toBe(7n);
    expect(await spent("tag", "f=x")).toBe(107n);
    expect(await spent("org", "", day(11))).toBe(130n);
  });
});

describe("limit store", () => {
  it("creates, lists, updates and deletes budgets and rate limits; each write moves the revision", async () => {
    const r0 = await limits.revision();
    const created = await limits.budgets.create("org_a", "monthly", {
      target: "orgs/acme",
      level: "org",
      targetId: "org_a",
      limitMicros: 1_000_000n,
      period: "monthly",
      timeZone: "Europe/Paris",
      alertThresholdsPercent: [50, 80],
      alertWebhookUrl: "",
    });
    expect(created).toMatchObject({ kind: "created", record: { name: "monthly", orgName: "acme", limitMicros: 1_000_000n, timeZone: "Europe/Paris" } });
    expect(await limits.budgets.create("org_a", "monthly", { target: "orgs/acme", level: "org", targetId: "org_a", limitMicros: 1n, period: "total", timeZone: "UTC", alertThresholdsPercent: [], alertWebhookUrl: "" })).toEqual({ kind: "exists" });
    const r1 = await limits.revision();
    expect(r1).not.toBe(r0);
    await limits.rateLimits.create("org_a", "rpm", { target: "orgs/acme/teams/web", level: "team", targetId: "team_a", requestsPerMinute: 10, tokensPerMinute: 0 });
    expect((await limits.budgets.update("org_a", "monthly", { limitMicros: 5n }))?.after.limitMicros).toBe(5n);
    expect((await limits.loadAll()).rateLimits.map((r) => r.name)).toEqual(["rpm"]);
    expect((await limits.budgets.list("org_a", { limit: 10 }, "orgs/acme")).items).toHaveLength(1);
    expect(await limits.budgets.delete("org_a", "monthly")).toMatchObject({ name: "monthly", limitMicros: 5n });
    expect(await limits.budgets.get("org_a", "monthly")).toBeUndefined();
    expect(await limits.revision()).not.toBe(r1);
  });
});
