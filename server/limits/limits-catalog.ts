import type { CallerRef } from "../pipeline/model-call.js";
import { pollRefresh, serialRefresh } from "../runtime/snapshot-refresh.js";
import type { BudgetRecord, LimitStore, LimitTarget, RateLimitRecord } from "../store/limit-store.js";
import type { BudgetAlertSettings } from "./budget-alerts.js";
import type { BudgetRef } from "./budget-reservation.js";
import type { RateLimitRule } from "./rate-limiter.js";

/** Options of {@link createLimitsCatalog}. */
export interface LimitsCatalogOptions {
  store: Pick<LimitStore, "revision" | "loadAll">;
  /** How often to check for changes (default 1 s): the bound on how stale a replica's limits are. */
  pollMs?: number;
  /** Called when a poll fails; the last good snapshot keeps serving. */
  onError?: (err: unknown) => void;
}

/** The budgets and rate limits in force, from an in-process snapshot that follows the database. */
export interface LimitsCatalog {
  /** Every budget that caps a call by `caller` carrying `tags` (org, team, key and tag levels). */
  budgetsFor(caller: CallerRef, tags: Readonly<Record<string, string>>): BudgetRef[];
  /** Every rate limit that applies to such a call. */
  rateRulesFor(caller: CallerRef, tags: Readonly<Record<string, string>>): RateLimitRule[];
  /** Every org that has at least one budget (whose holds the sweeper of dead replicas looks at). */
  budgetTenants(): string[];
  /** What the budget named `budgetId` caps (for summing its spend in the ledger); undefined when unknown. */
  targetOf(budgetId: string): LimitTarget | undefined;
  /** The soft-alert settings of the budget named `budgetId`; undefined when unknown. */
  alertsOf(budgetId: string): BudgetAlertSettings | undefined;
  /**
   * Checks for changes now and reloads if any (start-up, after a write on this replica, tests). A
   * call made while a reload runs gets the next one, so a caller that has just written sees its write.
   */
  refresh(): Promise<void>;
  close(): void;
}

/** The fast-path view of a stored budget. */
export function budgetRefOf(b: BudgetRecord): BudgetRef {
  return { id: `orgs/${b.orgName}/budgets/${b.name}`, level: b.level, limitMicros: b.limitMicros, period: b.period, tz: b.timeZone, counterEpoch: b.counterEpoch };
}

/** The fast-path view of a stored rate limit. */
export function rateRuleOf(r: RateLimitRecord): RateLimitRule {
  return { id: `orgs/${r.orgName}/rate-limits/${r.name}`, level: r.level, requestsPerMinute: r.requestsPerMinute, tokensPerMinute: r.tokensPerMinute };
}

/** Whether a limit's target covers a call by `caller` with `tags`. */
export function targetCovers(t: LimitTarget, caller: CallerRef, tags: Readonly<Record<string, string>>): boolean {
  switch (t.level) {
    case "org":
      return t.targetId === caller.orgId;
    case "team":
      return t.targetId === caller.teamId;
    case "key":
      return t.targetId === caller.keyId;
    case "tag": {
      const at = t.targetId.indexOf("=");
      return at > 0 && tags[t.targetId.slice(0, at)] === t.targetId.slice(at + 1);
    }
  }
}

interface OrgLimits {
  budgets: { target: LimitTarget; ref: BudgetRef }[];
  rules: { target: LimitTarget; rule: RateLimitRule }[];
}

/**
 * Creates a catalog that polls the limits' revision every `pollMs` and reloads every live budget
 * and rate limit when it moved, like the route resolver: a change made on any replica applies on
 * every replica within one poll interval, and the hot path never waits on Postgres. A database
 * outage keeps the last snapshot (limits keep applying rather than vanishing).
 */
export function createLimitsCatalog(opts: LimitsCatalogOptions): LimitsCatalog {
  const pollMs = opts.pollMs ?? 1_000;
  let byOrg = new Map<string, OrgLimits>();
  let targets = new Map<string, LimitTarget>();
  let alerts = new Map<string, BudgetAlertSettings>();
  let seen: string | undefined;

  const reload = async () => {
    const revision = await opts.store.revision();
    if (revision === seen) return;
    const { budgets, rateLimits } = await opts.store.loadAll();
    const next = new Map<string, OrgLimits>();
    const orgOf = (orgId: string) => {
      let org = next.get(orgId);
      if (org === undefined) next.set(orgId, (org = { budgets: [], rules: [] }));
      return org;
    };
    for (const b of budgets) orgOf(b.orgId).budgets.push({ target: b, ref: budgetRefOf(b) });
    for (const r of rateLimits) orgOf(r.orgId).rules.push({ target: r, rule: rateRuleOf(r) });
    byOrg = next;
    targets = new Map(budgets.map((b) => [budgetRefOf(b).id, { target: b.target, level: b.level, targetId: b.targetId }]));
    alerts = new Map(budgets.map((b) => [budgetRefOf(b).id, { thresholdsPercent: b.alertThresholdsPercent, webhookUrl: b.alertWebhookUrl }]));
    seen = revision;
  };
  const refresh = serialRefresh(reload);
  const stop = pollRefresh(refresh, pollMs, opts.onError);

  return {
    budgetsFor(caller, tags) {
      return (byOrg.get(caller.orgId)?.budgets ?? []).filter((b) => targetCovers(b.target, caller, tags)).map((b) => b.ref);
    },
    rateRulesFor(caller, tags) {
      return (byOrg.get(caller.orgId)?.rules ?? []).filter((r) => targetCovers(r.target, caller, tags)).map((r) => r.rule);
    },
    budgetTenants: () => [...byOrg].filter(([, org]) => org.budgets.length > 0).map(([orgId]) => orgId),
    targetOf: (budgetId) => targets.get(budgetId),
    alertsOf: (budgetId) => alerts.get(budgetId),
    refresh,
    close: stop,
  };
}
