import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { StateBackend } from "../store/state/state-backend.js";
import type { StateHarness } from "./budget-reservation.contract.js";
import { createRateLimiter, windowKey, type RateLimiter, type RateLimitRule } from "./rate-limiter.js";

const TENANT = "org-acme";
const MINUTE = 60_000;

/**
 * The behaviour of `createRateLimiter` on a real state backend, run once per backend, so limits
 * hold the same way embedded and across replicas (RELIABILITY P5, P6).
 */
export function runRateLimiterContract(name: string, factory: (now: () => number) => StateHarness): void {
  describe(`rate limiter: ${name}`, () => {
    // Well inside a window, so no test straddles a window boundary by accident.
    let now: number;
    let harness: StateHarness;
    let state: StateBackend;
    let limiter: RateLimiter;
    const clock = { now: () => now };
    const key: RateLimitRule = { id: "orgs/acme/rate-limits/key", level: "key", requestsPerMinute: 5, tokensPerMinute: 1000 };
    const org: RateLimitRule = { id: "orgs/acme/rate-limits/org", level: "org", requestsPerMinute: 8 };

    beforeEach(() => {
      now = Date.parse("2026-11-29T12:00:00Z") + 1000;
      harness = factory(() => now);
      state = harness.connect();
      limiter = createRateLimiter({ state, clock });
    });

    afterEach(async () => {
      try {
        const ttls = await harness.ttls?.();
        for (const [k, ttl] of ttls ?? []) expect(ttl, `TTL of ${k}`).toBeGreaterThan(0);
      } finally {
        await harness.dispose();
      }
    });

    it("admits exactly the limit in a window, then names the rule and when to retry", async () => {
      const outcomes = [];
      for (let i = 0; i < 7; i++) outcomes.push(await limiter.check({ tenant: TENANT, rules: [key] }));
      expect(outcomes.filter((o) => o.allowed)).toHaveLength(5);
      const refused = outcomes[5]!;
      expect(refused.allowed ? undefined : refused.refusal).toMatchObject({ rule: key, dimension: "requests", limit: 5 });
      const retryAfterMs = refused.allowed ? 0 : refused.refusal.retryAfterMs!;
      expect(retryAfterMs).toBeGreaterThan(0);
      expect(retryAfterMs).toBeLessThanOrEqual(2 * MINUTE);
      now += retryAfterMs;
      expect((await limiter.check({ tenant: TENANT, rules: [key] })).allowed).toBe(true);
    });

    it("tells an admitted call where it stands: the tightest window per dimension, this call counted", async () => {
      const standing = async (rules: RateLimitRule[]) => {
        const o = await limiter.check({ tenant: TENANT, rules, tokensEstimate: 300, standing: true });
        return o.allowed ? o.standing : undefined;
      };
      // 1 s into the window: what is counted now has left the sliding window 2 minutes less 1 s from now.
      const reset = 2 * MINUTE - 1000;
      expect(await standing([org, key])).toEqual({ requests: { limit: 5, remaining: 4, resetMs: reset }, tokens: { limit: 1000, remaining: 700, resetMs: reset } });
      for (let i = 0; i < 3; i++) await standing([org]);
      // The key has 3 left, the org 3: a tie names the narrower level.
      expect((await standing([org, key]))?.requests).toEqual({ limit: 5, remaining: 3, resetMs: reset });
      now += 30_000;
      for (let i = 0; i < 2; i++) await standing([org]);
      // Now the org has none left and the key 2; the tokens window is the key's alone.
      expect(await standing([org, key])).toEqual({ requests: { limit: 8, remaining: 0, resetMs: reset - 30_000 }, tokens: { limit: 1000, remaining: 100, resetMs: reset - 30_000 } });
      expect(await standing([{ id: "orgs/acme/rate-limits/none", level: "team" }])).toEqual({});
      // Not asked for: not worked out.
      const unasked = await limiter.check({ tenant: TENANT, rules: [key] });
      expect(unasked.allowed && unasked.standing).toBeUndefined();
    });

    it("is global: two limiter instances on shared state admit exactly the limit together (P5)", async () => {
      const other = createRateLimiter({ state: harness.connect(), clock });
      const rule: RateLimitRule = { id: "orgs/acme/rate-limits/shared", level: "org", requestsPerMinute: 25 };
      const outcomes = await Promise.all(Array.from({ length: 60 }, (_, i) => (i % 2 === 0 ? limiter : other).check({ tenant: TENANT, rules: [rule] })));
      expect(outcomes.filter((o) => o.allowed)).toHaveLength(25);
    });

    it("counts a refused request nowhere, so a key's refusals never eat its org's limit", async () => {
      const small: RateLimitRule = { id: "orgs/acme/rate-limits/small-key", level: "key", requestsPerMinute: 2 };
      for (let i = 0; i < 10; i++) await limiter.check({ tenant: TENANT, rules: [org, small] });
      // The org counted only the 2 admitted requests: 6 more fit for other keys.
      let admitted = 0;
      for (let i = 0; i < 10; i++) if ((await limiter.check({ tenant: TENANT, rules: [org] })).allowed) admitted++;
      expect(admitted).toBe(6);
    });

    it("checks every level and dimension in one step of the state backend, and names the longest wait", async () => {
      const calls: string[] = [];
      const counted = new Proxy(state, {
        get(target, name, receiver) {
          const value = Reflect.get(target, name, receiver) as unknown;
          if (typeof value !== "function") return value;
          return (...args: unknown[]) => {
            calls.push(String(name));
            return (value as (...a: unknown[]) => unknown).apply(target, args);
          };
        },
      });
      const layered = createRateLimiter({ state: counted, clock });
      const team: RateLimitRule = { id: "orgs/acme/rate-limits/team", level: "team", requestsPerMinute: 1 };
      const orgTokens: RateLimitRule = { id: "orgs/acme/rate-limits/org-tokens", level: "org", tokensPerMinute: 100 };
      expect((await layered.check({ tenant: TENANT, rules: [orgTokens, team, key], tokensEstimate: 10 })).allowed).toBe(true);
      expect(calls).toEqual(["hitWindows"]);
      // The team is full (a wait helps) and the org's tokens can never hold 500 (no wait helps):
      // the refusal names the one no wait cures.
      const refused = await layered.check({ tenant: TENANT, rules: [orgTokens, team, key], tokensEstimate: 500 });
      expect(calls).toEqual(["hitWindows", "hitWindows"]);
      expect(refused.allowed ? undefined : refused.refusal).toEqual({ rule: orgTokens, dimension: "tokens", limit: 100 });
    });

    it("names the window with the longest finite wait when several refuse, wherever it sits", async () => {
      const orgTokens: RateLimitRule = { id: "orgs/acme/rate-limits/org-tokens", level: "org", tokensPerMinute: 100 };
      for (let i = 0; i < 5; i++) expect((await limiter.check({ tenant: TENANT, rules: [orgTokens, key], tokensEstimate: i === 0 ? 60 : 0 })).allowed).toBe(true);
      // 1 s into the window. The key's requests (5 of 5) fit again 59 s + 12 s from now (4 of 5
      // left once the window's weight decays to 4); the org's tokens (60 + 60 of 100) only after
      // 59 s + 20 s. The call passes only when both have room: the org's wait is the one to report.
      const refused = await limiter.check({ tenant: TENANT, rules: [orgTokens, key], tokensEstimate: 60 });
      expect(refused.allowed ? undefined : refused.refusal).toEqual({ rule: orgTokens, dimension: "tokens", limit: 100, retryAfterMs: 79_000 });
    });

    it("counts a rule that covers the caller twice (through two tags) once", async () => {
      const outcomes = [];
      for (let i = 0; i < 7; i++) outcomes.push(await limiter.check({ tenant: TENANT, rules: [key, org, key] }));
      expect(outcomes.filter((o) => o.allowed)).toHaveLength(5);
    });

    it("counts tokens with the estimate up front and corrects them upward afterwards", async () => {
      const first = await limiter.check({ tenant: TENANT, rules: [key], tokensEstimate: 400 });
      expect(first.allowed).toBe(true);
      if (!first.allowed) return;
      await limiter.correctTokens(first.ticket, 700); // used 300 more than estimated
      await limiter.correctTokens(first.ticket, 100); // below the estimate: nothing given back
      const second = await limiter.check({ tenant: TENANT, rules: [key], tokensEstimate: 301 });
      expect(second.allowed ? undefined : second.refusal).toMatchObject({ rule: key, dimension: "tokens", limit: 1000 });
      expect((await limiter.check({ tenant: TENANT, rules: [key], tokensEstimate: 300 })).allowed).toBe(true);
    });

    it("refunds a ticket's token estimate, requests kept, even after the window rolled over", async () => {
      const first = await limiter.check({ tenant: TENANT, rules: [key], tokensEstimate: 900 });
      if (!first.allowed) throw new Error("expected the first check to pass");
      expect((await limiter.check({ tenant: TENANT, rules: [key], tokensEstimate: 200 })).allowed).toBe(false);
      await limiter.refundTokens(first.ticket);
      expect((await limiter.check({ tenant: TENANT, rules: [key], tokensEstimate: 1000 })).allowed).toBe(true);
      // The two admitted calls still count as requests: 3 more fit under 5.
      for (let i = 0; i < 3; i++) expect((await limiter.check({ tenant: TENANT, rules: [key] })).allowed).toBe(true);
      expect((await limiter.check({ tenant: TENANT, rules: [key] })).allowed).toBe(false);
      // A refund that lands in the next window takes back from the previous one.
      now += 60_000;
      const second = await limiter.check({ tenant: "other", rules: [key], tokensEstimate: 1000 });
      if (!second.allowed) throw new Error("expected a fresh tenant's check to pass");
      now += 30_000; // half the next window: the previous window's 1000 weigh 500
      expect((await limiter.check({ tenant: "other", rules: [key], tokensEstimate: 501 })).allowed).toBe(false);
      await limiter.refundTokens(second.ticket);
      expect((await limiter.check({ tenant: "other", rules: [key], tokensEstimate: 1000 })).allowed).toBe(true);
    });

    it("corrects and refunds tokens on every token rule the check counted them against", async () => {
      const team: RateLimitRule = { id: "orgs/acme/rate-limits/team", level: "team", tokensPerMinute: 1000 };
      const first = await limiter.check({ tenant: TENANT, rules: [team, key], tokensEstimate: 900 });
      if (!first.allowed) throw new Error("expected the first check to pass");
      await limiter.refundTokens(first.ticket);
      for (const rule of [team, key]) expect((await limiter.check({ tenant: TENANT, rules: [rule], tokensEstimate: 1000 })).allowed, rule.id).toBe(true);
      const second = await limiter.check({ tenant: "other2", rules: [team, key], tokensEstimate: 400 });
      if (!second.allowed) throw new Error("expected a fresh tenant's check to pass");
      await limiter.correctTokens(second.ticket, 700);
      for (const rule of [key, team]) expect((await limiter.check({ tenant: "other2", rules: [rule], tokensEstimate: 301 })).allowed, rule.id).toBe(false);
    });

    it("refuses without a retry delay a request larger than the limit on its own", async () => {
      const outcome = await limiter.check({ tenant: TENANT, rules: [key], tokensEstimate: 1001 });
      expect(outcome.allowed).toBe(false);
      if (outcome.allowed) return;
      expect(outcome.refusal).toMatchObject({ dimension: "tokens", limit: 1000 });
      expect(outcome.refusal.retryAfterMs).toBeUndefined();
    });

    it("ignores unlimited dimensions and keys counters per tenant and rule", async () => {
      const unlimited: RateLimitRule = { id: "orgs/acme/rate-limits/none", level: "team", requestsPerMinute: 0 };
      for (let i = 0; i < 20; i++) expect((await limiter.check({ tenant: TENANT, rules: [unlimited] })).allowed).toBe(true);
      expect(await state.get(windowKey(TENANT, unlimited.id, "requests"))).toBeUndefined();
      for (let i = 0; i < 5; i++) await limiter.check({ tenant: TENANT, rules: [key] });
      expect((await limiter.check({ tenant: "org-other", rules: [key] })).allowed).toBe(true);
    });
  });
}
