import { describe, expect, it } from "vitest";
import type { AuditRecord } from "./audit-log.js";
import { COALESCED_ACTION, createRefusalCoalescer } from "./refusal-coalescer.js";

function refusal(peer: string, over: Partial<AuditRecord> = {}): AuditRecord {
  return {
    actor: "",
    actorOrg: "",
    actorOrgId: null,
    action: "POST /v1/chat/completions",
    resource: "",
    before: null,
    after: null,
    outcome: "denied",
    code: "unauthenticated",
    peer,
    requestId: "r",
    org: null,
    ...over,
  };
}

describe("refusal coalescer", () => {
  it("records the first calls of an address one by one per window and counts the rest into one summary at the window's end", () => {
    const c = createRefusalCoalescer({ perAddress: 3, windowMs: 1_000, maxAddresses: 100 });
    const admitted = Array.from({ length: 10 }, (_, i) => c.admit(refusal("10.0.0.1", i === 9 ? { code: "resource_exhausted", action: "x" } : {}), 100 + i));
    expect(admitted).toEqual([true, true, true, false, false, false, false, false, false, false]);
    // Another address has its own count.
    expect(c.admit(refusal("10.0.0.2"), 200)).toBe(true);
    expect(c.due(1_099)).toEqual([]);
    expect(c.nextDue()).toBe(1_100);
    const [summary, ...rest] = c.due(1_100);
    expect(rest).toEqual([]);
    expect(summary).toMatchObject({
      action: COALESCED_ACTION,
      peer: "10.0.0.1",
      outcome: "denied",
      code: "mixed",
      actorOrgId: null,
      after: { calls: 7, firstTime: new Date(103).toISOString(), lastTime: new Date(109).toISOString(), actions: ["POST /v1/chat/completions", "x"], codes: ["resource_exhausted", "unauthenticated"] },
    });
    // Summarised once; the address starts a new window with its full count.
    expect(c.due(5_000)).toEqual([]);
    expect(c.nextDue()).toBeUndefined();
    expect(c.admit(refusal("10.0.0.1"), 5_000)).toBe(true);
  });

  it("never coalesces a call whose secret matched a key (revoked, expired, rotated out), and cuts long actions", () => {
    const c = createRefusalCoalescer({ perAddress: 1, windowMs: 1_000, maxAddresses: 100 });
    expect(c.admit(refusal("10.0.0.1"), 0)).toBe(true);
    expect(c.admit(refusal("10.0.0.1", { action: `GET /v1/models/${"x".repeat(10_000)}` }), 1)).toBe(false);
    for (let i = 0; i < 3; i++) expect(c.admit(refusal("10.0.0.1", { after: { presentedKey: "sb_live_abc", matchedKey: true } }), 2 + i)).toBe(true);
    const [summary] = c.due(0, true);
    const actions = (summary!.after as { actions: string[] }).actions;
    expect(actions[0]!.length).toBeLessThan(200);
    expect(actions[0]!.startsWith("GET /v1/models/xxx")).toBe(true);
  });

  it("never coalesces an authenticated caller's refusals", () => {
    const c = createRefusalCoalescer({ perAddress: 1, windowMs: 1_000, maxAddresses: 100 });
    for (let i = 0; i < 5; i++) expect(c.admit(refusal("10.0.0.1", { actor: "orgs/a/teams/t/keys/k", actorOrgId: "org_1", code: "permission_denied" }), i)).toBe(true);
  });

  it("counts an IPv6 /64 and unknown addresses as one address each", () => {
    const c = createRefusalCoalescer({ perAddress: 1, windowMs: 1_000, maxAddresses: 100 });
    expect(c.admit(refusal("2001:db8::1"), 0)).toBe(true);
    expect(c.admit(refusal("2001:db8::2"), 0)).toBe(false);
    expect(c.admit(refusal(""), 0)).toBe(true);
    expect(c.admit(refusal(""), 0)).toBe(false);
    expect(c.due(0, true).map((s) => (s.after as { calls: number }).calls)).toEqual([1, 1]);
  });

  it("summarises the oldest address early when more are tracked than allowed, so memory stays bounded", () => {
    const c = createRefusalCoalescer({ perAddress: 0, windowMs: 60_000, maxAddresses: 2 });
    expect(c.admit(refusal("10.0.0.1"), 0)).toBe(false);
    expect(c.admit(refusal("10.0.0.2"), 1)).toBe(false);
    expect(c.admit(refusal("10.0.0.3"), 2)).toBe(false);
    expect(c.nextDue()).toBe(0);
    expect(c.due(3).map((s) => s.peer)).toEqual(["10.0.0.1"]);
    expect(c.due(3, true).map((s) => s.peer)).toEqual(["10.0.0.2", "10.0.0.3"]);
  });
});
