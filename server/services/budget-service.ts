import { randomBytes } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { Validator } from "@bufbuild/protovalidate";
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import {
  BudgetSchema,
  BudgetService,
  CreateBudgetRequestSchema,
  CreateRateLimitRequestSchema,
  RateLimitSchema,
  UpdateBudgetRequestSchema,
  UpdateRateLimitRequestSchema,
  type Budget,
  type RateLimit,
} from "../../gen/ts/switchboard/v1/budget_service_pb.js";
import { auditSnapshot, noteAudit } from "../audit/audit-context.js";
import { orgScopeOf } from "../auth/access.js";
import type { Clock } from "../clock.js";
import { fieldViolation } from "../errors/field-violation.js";
import { createEgressPolicy, type EgressPolicy } from "../http/egress-policy.js";
import type { BudgetReservations } from "../limits/budget-reservation.js";
import { budgetRefOf, type LimitsCatalog } from "../limits/limits-catalog.js";
import { periodOf } from "../limits/periods.js";
import { MAX_RATE_LIMIT_PER_MINUTE } from "../limits/rate-limiter.js";
import type { KeyStore } from "../store/key-store.js";
import type { BudgetFields, LimitStore, RateLimitFields } from "../store/limit-store.js";
import type { TenantStore } from "../store/tenant-store.js";
import type { UsageStore } from "../store/usage-store.js";
import { budgetMessage, periodOfProto, rateLimitMessage, thresholdsOf, timeZoneOf } from "./budget-messages.js";
import { callerOf } from "./caller.js";
import { maskedFields } from "./field-mask.js";
import { createdRecord, idempotencyKey } from "./idempotency.js";
import { resolveLimitTarget } from "./limit-target.js";
import { createMaskedUpdate } from "./masked-update.js";
import { nextPageToken, pageRequest } from "./page-token.js";
import { parseOrgName } from "./resource-names.js";

/** Dependencies of {@link createBudgetService}. */
export interface BudgetServiceDeps {
  limits: LimitStore;
  usage: Pick<UsageStore, "spent">;
  tenants: TenantStore;
  keys: KeyStore;
  /** The fast-path counters, for what requests in flight hold. */
  reservations: Pick<BudgetReservations, "snapshot">;
  /** This replica's snapshot of the limits, refreshed after each write. */
  catalog: Pick<LimitsCatalog, "refresh">;
  clock: Clock;
  /** Judges `alert_webhook_url`'s literal host when it is set (default: the default policy). */
  egress?: EgressPolicy;
  /** The schema's rules, for what an update leaves (best the validate interceptor's; default a new one). */
  validator?: Validator;
}

const BUDGET_FIELDS = ["limit_micros_usd", "period", "time_zone", "alert_thresholds_percent", "alert_webhook_url"] as const;
const RATE_FIELDS = ["requests_per_minute", "tokens_per_minute"] as const;
const SEGMENT = "([a-z0-9][a-z0-9-]{0,62})";
const BUDGET_NAME = new RegExp(`^orgs/${SEGMENT}/budgets/${SEGMENT}$`);
const RATE_NAME = new RegExp(`^orgs/${SEGMENT}/rate-limits/${SEGMENT}$`);

const notFound = (name: string) => new ConnectError(`${name} not found`, Code.NotFound);
const generatedId = (prefix: string) => `${prefix}-${randomBytes(6).toString("hex")}`;

/**
 * `switchboard.v1.BudgetService`: spend caps and rate limits on an org, its teams and keys, or a
 * tag. Confined to the caller's org (another org's are not found); platform admins reach every
 * org. Targets are resolved to the internal ids they name at write time. A write applies on this
 * replica at once and on the others within `budgets.pollMs`. `GetBudgetStatus` reports the
 * period's settled spend from the ledger (the authority; records reach it within the ledger's
 * flush interval) and what calls in flight hold, from the fast-path counters.
 */
export function createBudgetService(deps: BudgetServiceDeps): ServiceImpl<typeof BudgetService> {
  const egress = deps.egress ?? createEgressPolicy();
  const budgetUpdate = createMaskedUpdate(UpdateBudgetRequestSchema, "budget", BudgetSchema, deps.validator);
  const rateLimitUpdate = createMaskedUpdate(UpdateRateLimitRequestSchema, "rate_limit", RateLimitSchema, deps.validator);
  // Early feedback only: the delivery judges the address the host resolves to when it fires.
  const checkWebhook = (url: string) => {
    const refused = url === "" ? undefined : egress.urlRefusal(url);
    if (refused !== undefined) throw fieldViolation("budget.alert_webhook_url", `refused by the egress policy: ${refused}`, "url.egress");
  };
  const orgOf = async (ctx: HandlerContext, parent: string, field: string) => {
    const scope = orgScopeOf(callerOf(ctx));
    const org = await deps.tenants.getOrg(parseOrgName(parent, field), scope);
    if (org === undefined) throw notFound(parent);
    return { org, scope };
  };
  const parse = (name: string, pattern: RegExp, field: string) => {
    const m = pattern.exec(name);
    if (m === null) throw fieldViolation(field, `not a valid resource name: "${name}"`, "resource_name.form");
    return { parent: `orgs/${m[1]}`, id: m[2]! };
  };
  const wrote = async <T>(value: T): Promise<T> => {
    await deps.catalog.refresh().catch(() => undefined); // the poll catches up if this fails
    return value;
  };
  const budgetFields = (b: Budget): Omit<BudgetFields, "target" | "level" | "targetId"> => ({
    limitMicros: b.limitMicrosUsd,
    period: periodOfProto(b.period, "budget.period"),
    timeZone: timeZoneOf(b.timeZone, "budget.time_zone"),
    alertThresholdsPercent: thresholdsOf(b.alertThresholdsPercent),
    alertWebhookUrl: b.alertWebhookUrl,
  });
  const rateFields = (r: RateLimit): Omit<RateLimitFields, "target" | "level" | "targetId"> => {
    // Also enforced by the proto's `lte`; checked here too so no path stores a limit the window
    // arithmetic cannot count (it would fail every call under it).
    const safe = (v: bigint, field: string) => {
      if (v > BigInt(MAX_RATE_LIMIT_PER_MINUTE)) throw fieldViolation(field, `at most ${MAX_RATE_LIMIT_PER_MINUTE} per minute, got ${v}`, "rate_limit.per_minute.max");
      return Number(v);
    };
    return { requestsPerMinute: safe(r.requestsPerMinute, "rate_limit.requests_per_minute"), tokensPerMinute: safe(r.tokensPerMinute, "rate_limit.tokens_per_minute") };
  };

  return {
    async createBudget(req, ctx) {
      const { org, scope } = await orgOf(ctx, req.parent, "parent");
      const budget = req.budget ?? create(BudgetSchema);
      checkWebhook(budget.alertWebhookUrl);
      const fields: BudgetFields = { ...(await resolveLimitTarget(deps, org, scope, budget.target, "budget.target")), ...budgetFields(budget) };
      const id = req.budgetId !== "" ? req.budgetId : generatedId("budget");
      const name = `${req.parent}/budgets/${id}`;
      const outcome = await deps.limits.budgets.create(org.id, id, fields, idempotencyKey(callerOf(ctx), "CreateBudget", CreateBudgetRequestSchema, req));
      const record = createdRecord(outcome, name, () => new ConnectError(`${name} already exists`, Code.AlreadyExists));
      return wrote({ budget: budgetMessage(record) });
    },
    async getBudget(req, ctx) {
      const { parent, id } = parse(req.name, BUDGET_NAME, "name");
      const { org } = await orgOf(ctx, parent, "name");
      const record = await deps.limits.budgets.get(org.id, id);
      if (record === undefined) throw notFound(req.name);
      return { budget: budgetMessage(record) };
    },
    async listBudgets(req, ctx) {
      const { org } = await orgOf(ctx, req.parent, "parent");
      const query = `ListBudgets ${req.parent} ${req.target}`;
      const page = await deps.limits.budgets.list(org.id, pageRequest(req.pageSize, req.pageToken, query), req.target);
      return { budgets: page.items.map(budgetMessage), nextPageToken: nextPageToken(page.after, query) };
    },
    async updateBudget(req, ctx) {
      const given = budgetUpdate.given(req.budget);
      const name = given.name;
      const masked = maskedFields(req.updateMask, BUDGET_FIELDS);
      const { parent, id } = parse(name, BUDGET_NAME, "budget.name");
      const { org } = await orgOf(ctx, parent, "budget.name");
      const stored = await deps.limits.budgets.get(org.id, id);
      if (stored === undefined) throw notFound(name);
      // The budget the update leaves, checked whole; the patch takes its masked fields. (The store
      // applies the patch to the row as it is then: the other fields are as valid as these.)
      const next = budgetFields(budgetUpdate.merge(budgetMessage(stored), given, masked));
      if (masked.has("alert_webhook_url")) checkWebhook(next.alertWebhookUrl);
      const patch: Partial<BudgetFields> = {
        ...(masked.has("limit_micros_usd") ? { limitMicros: next.limitMicros } : {}),
        ...(masked.has("period") ? { period: next.period } : {}),
        ...(masked.has("time_zone") ? { timeZone: next.timeZone } : {}),
        ...(masked.has("alert_thresholds_percent") ? { alertThresholdsPercent: next.alertThresholdsPercent } : {}),
        ...(masked.has("alert_webhook_url") ? { alertWebhookUrl: next.alertWebhookUrl } : {}),
      };
      const change = await deps.limits.budgets.update(org.id, id, patch);
      if (change === undefined) throw notFound(name);
      const updated = change.after;
      noteAudit(ctx, { resource: name, orgId: org.id, before: auditSnapshot(BudgetSchema, budgetMessage(change.before)), after: auditSnapshot(BudgetSchema, budgetMessage(updated)) });
      return wrote({ budget: budgetMessage(updated) });
    },
    async deleteBudget(req, ctx) {
      const { parent, id } = parse(req.name, BUDGET_NAME, "name");
      const { org } = await orgOf(ctx, parent, "name");
      const before = await deps.limits.budgets.delete(org.id, id);
      if (before === undefined) throw notFound(req.name);
      noteAudit(ctx, { resource: req.name, orgId: org.id, before: auditSnapshot(BudgetSchema, budgetMessage(before)) });
      return wrote({});
    },
    async getBudgetStatus(req, ctx) {
      const { parent, id } = parse(req.name, BUDGET_NAME, "name");
      const { org } = await orgOf(ctx, parent, "name");
      const record = await deps.limits.budgets.get(org.id, id);
      if (record === undefined) throw notFound(req.name);
      const now = new Date(deps.clock.now());
      const period = periodOf(record.period, record.timeZone, now);
      const spent = await deps.usage.spent({ orgId: org.id, level: record.level, targetId: record.targetId, start: period.start, ...(period.end ? { end: period.end } : {}) });
      let reserved: bigint;
      try {
        reserved = (await deps.reservations.snapshot(org.id, budgetRefOf(record), now)).reservedMicros;
      } catch {
        throw new ConnectError("the budget counters are unavailable; retry shortly", Code.Unavailable);
      }
      const left = record.limitMicros - spent - reserved;
      return {
        budget: budgetMessage(record),
        periodStartTime: timestampFromDate(period.start),
        ...(period.end ? { periodEndTime: timestampFromDate(period.end) } : {}),
        spentMicrosUsd: spent,
        reservedMicrosUsd: reserved,
        remainingMicrosUsd: left > 0n ? left : 0n,
      };
    },

    async createRateLimit(req, ctx) {
      const { org, scope } = await orgOf(ctx, req.parent, "parent");
      const limit = req.rateLimit ?? create(RateLimitSchema);
      const fields: RateLimitFields = { ...(await resolveLimitTarget(deps, org, scope, limit.target, "rate_limit.target")), ...rateFields(limit) };
      const id = req.rateLimitId !== "" ? req.rateLimitId : generatedId("limit");
      const name = `${req.parent}/rate-limits/${id}`;
      const outcome = await deps.limits.rateLimits.create(org.id, id, fields, idempotencyKey(callerOf(ctx), "CreateRateLimit", CreateRateLimitRequestSchema, req));
      const record = createdRecord(outcome, name, () => new ConnectError(`${name} already exists`, Code.AlreadyExists));
      return wrote({ rateLimit: rateLimitMessage(record) });
    },
    async getRateLimit(req, ctx) {
      const { parent, id } = parse(req.name, RATE_NAME, "name");
      const { org } = await orgOf(ctx, parent, "name");
      const record = await deps.limits.rateLimits.get(org.id, id);
      if (record === undefined) throw notFound(req.name);
      return { rateLimit: rateLimitMessage(record) };
    },
    async listRateLimits(req, ctx) {
      const { org } = await orgOf(ctx, req.parent, "parent");
      const query = `ListRateLimits ${req.parent}`;
      const page = await deps.limits.rateLimits.list(org.id, pageRequest(req.pageSize, req.pageToken, query));
      return { rateLimits: page.items.map(rateLimitMessage), nextPageToken: nextPageToken(page.after, query) };
    },
    async updateRateLimit(req, ctx) {
      const given = rateLimitUpdate.given(req.rateLimit);
      const name = given.name;
      const masked = maskedFields(req.updateMask, RATE_FIELDS);
      const { parent, id } = parse(name, RATE_NAME, "rate_limit.name");
      const { org } = await orgOf(ctx, parent, "rate_limit.name");
      const stored = await deps.limits.rateLimits.get(org.id, id);
      if (stored === undefined) throw notFound(name);
      const next = rateFields(rateLimitUpdate.merge(rateLimitMessage(stored), given, masked));
      const patch: Partial<RateLimitFields> = {
        ...(masked.has("requests_per_minute") ? { requestsPerMinute: next.requestsPerMinute } : {}),
        ...(masked.has("tokens_per_minute") ? { tokensPerMinute: next.tokensPerMinute } : {}),
      };
      const change = await deps.limits.rateLimits.update(org.id, id, patch);
      if (change === undefined) throw notFound(name);
      const updated = change.after;
      noteAudit(ctx, { resource: name, orgId: org.id, before: auditSnapshot(RateLimitSchema, rateLimitMessage(change.before)), after: auditSnapshot(RateLimitSchema, rateLimitMessage(updated)) });
      return wrote({ rateLimit: rateLimitMessage(updated) });
    },
    async deleteRateLimit(req, ctx) {
      const { parent, id } = parse(req.name, RATE_NAME, "name");
      const { org } = await orgOf(ctx, parent, "name");
      const before = await deps.limits.rateLimits.delete(org.id, id);
      if (before === undefined) throw notFound(req.name);
      noteAudit(ctx, { resource: req.name, orgId: org.id, before: auditSnapshot(RateLimitSchema, rateLimitMessage(before)) });
      return wrote({});
    },
  };
}
