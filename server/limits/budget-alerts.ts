import type { Clock } from "../clock.js";
import type { Logger } from "../observability/logger.js";
import type { StateBackend } from "../store/state/state-backend.js";
import { counterScopeOf, type BudgetReservations, type BudgetRef, type Reservation, type SettledLine } from "./budget-reservation.js";
import { postAlertWebhook, type AlertWebhookOptions, type WebhookPost } from "./budget-alert-webhook.js";
import type { Period } from "./periods.js";

/** The soft thresholds of a budget that sets none, in percent of its cap. */
export const DEFAULT_ALERT_THRESHOLDS_PERCENT: readonly number[] = [50, 80, 100];

/** A budget's alert settings as stored (`Budget.alert_thresholds_percent`, `alert_webhook_url`). */
export interface BudgetAlertSettings {
  /** Empty: {@link DEFAULT_ALERT_THRESHOLDS_PERCENT}. */
  thresholdsPercent: readonly number[];
  /** Empty: the gateway-wide `budgets.alertWebhookUrl`, if any. */
  webhookUrl: string;
}

/**
 * One threshold crossed, as logged and as POSTed to the webhook (JSON, field names as here;
 * micro-USD amounts as decimal strings, like int64 in protobuf JSON). `id` is the same for every
 * delivery attempt of one event, so a receiver can drop duplicates.
 */
export interface BudgetAlertEvent {
  type: "budget.threshold_crossed";
  /** `<budget>:<period key>:<threshold>`: one event per budget, period and threshold. */
  id: string;
  /** Resource name, `orgs/{org}/budgets/{budget}`. */
  budget: string;
  level: BudgetRef["level"];
  /** The org's internal id (as in usage records). */
  orgId: string;
  thresholdPercent: number;
  limitMicrosUsd: string;
  /** Settled spend in the period when the crossing was seen (at or above the threshold). */
  spentMicrosUsd: string;
  period: BudgetRef["period"];
  periodStart: string;
  /** Null for `total` budgets. */
  periodEnd: string | null;
  occurredAt: string;
}

/** Dependencies of {@link createBudgetAlerts}. */
export interface BudgetAlertsDeps {
  /** The shared state: the once-per-event marker lives here, so replicas never fire twice. */
  state: StateBackend;
  /** Reads a budget's settled spend in a period (the fast-path counters), when the settle did not report it. */
  reservations: Pick<BudgetReservations, "snapshot">;
  /** A budget's alert settings; undefined when the budget is gone (deleted: no alert). */
  settingsOf(budgetId: string): BudgetAlertSettings | undefined;
  logger: Logger;
  clock: Clock;
  /**
   * Sends one webhook request (default: through the default egress policy's clients; the server
   * passes its configured one, `createWebhookPost(egress.dispatcher)`); tests inject failures.
   */
  post?: WebhookPost;
}

/** Options of {@link createBudgetAlerts}; defaults documented in the README. */
export interface BudgetAlertsOptions extends AlertWebhookOptions {
  /** Webhook of budgets that set none (`budgets.alertWebhookUrl`); unset: log only. */
  webhookUrl?: string;
  /** Added to a period's remaining length for the marker's TTL (default 1 h, as the counters). */
  slackMs?: number;
  /** TTL of the markers of `total` budgets (default 400 days, as the counters). */
  totalTtlMs?: number;
  /** Webhook deliveries allowed in progress at once; beyond, an event is logged only (default 1000). */
  maxDeliveries?: number;
}

/** Soft spend alerts: checked after each settle, off the request path. */
export interface BudgetAlerts {
  /**
   * Looks, in the background, for thresholds the reservation's budgets crossed in its period and
   * emits each crossing once. Never throws, never waits: the caller's request is not delayed and
   * cannot fail because of an alert. `settled` (what `BudgetReservations.settle` resolved) gives
   * the spend the settle left, so no counter is read again, and each budget's cap as in force at
   * the call's latest hold, which its spend is judged against; without it, the counters are read
   * and judged against the caps the reservation was made under.
   */
  afterSettle(reservation: Reservation, settled?: readonly SettledLine[]): void;
  /** Resolves once every check and delivery started so far has finished (tests, shutdown). */
  drain(): Promise<void>;
}

/**
 * Soft thresholds (default 50/80/100 % of the cap) on settled spend. After a call settles, each of
 * its budgets' settled spend in the call's period is taken from the settle's result (or, when the
 * settle reported none, read from the fast-path counters); for each
 * threshold reached, a marker `budget-alert:{tenant}:<budget>:<period>:<percent>` is incremented
 * in the shared state with a TTL to the period's end (+ slack). Only the increment that creates
 * it (value 1) emits, so an event fires exactly once per budget, period and threshold however
 * many replicas see the crossing. An emitted event is a `warn` log line and, when the budget or
 * the gateway has a webhook, a JSON POST with retries and a timeout (see `budget-alert-webhook.ts`).
 *
 * Each replica remembers the markers it has seen until their period ends, so a threshold already
 * handled costs no Redis call. If the state backend fails, the check is skipped (logged at debug):
 * an alert may then come late (at the next settle) but never twice. Spend is what the counters
 * hold, seeded from the ledger; the 100 % threshold fires when settled spend reaches the cap
 * exactly (reservations admit up to the cap) or when an overrunning call books past it.
 */
export function createBudgetAlerts(deps: BudgetAlertsDeps, opts: BudgetAlertsOptions = {}): BudgetAlerts {
  const slackMs = opts.slackMs ?? 3_600_000;
  const totalTtlMs = opts.totalTtlMs ?? 400 * 86_400_000;
  const maxDeliveries = opts.maxDeliveries ?? 1000;
  /** Markers this replica saw, until when (epoch ms): skipped without a Redis call. */
  const seen = new Map<string, number>();
  const running = new Set<Promise<void>>();
  let deliveries = 0;

  const track = (work: Promise<void>): void => {
    running.add(work);
    void work.finally(() => running.delete(work));
  };

  const ttlOf = (period: Period, now: number): number =>
    Math.max(1, period.end === undefined ? totalTtlMs : period.end.getTime() - now + slackMs);

  const remember = (key: string, until: number, now: number): void => {
    if (seen.size >= 10_000) for (const [k, t] of seen) if (t <= now) seen.delete(k);
    if (seen.size >= 10_000) seen.clear(); // only a shortcut: the shared marker still decides
    seen.set(key, until);
  };

  const emit = (event: BudgetAlertEvent, webhookUrl: string | undefined): void => {
    deps.logger.warn({ alert: event }, `budget ${event.budget} crossed ${event.thresholdPercent}% of its cap`);
    if (webhookUrl === undefined || webhookUrl === "") return;
    if (deliveries >= maxDeliveries) {
      deps.logger.error({ alertId: event.id, deliveries }, "budget alert webhook backlog full; this alert is logged only");
      return;
    }
    deliveries++;
    track(
      postAlertWebhook(webhookUrl, event, { ...(deps.post ? { post: deps.post } : {}), logger: deps.logger }, opts).finally(() => {
        deliveries--;
      }),
    );
  };

  const check = async (tenant: string, budget: BudgetRef, period: Period, reported: bigint | undefined): Promise<void> => {
    const settings = deps.settingsOf(budget.id);
    // Every stored budget has settings: none is a budget deleted while the call ran. Its owner's
    // thresholds and webhook went with it; the defaults and the gateway-wide webhook are not its.
    if (settings === undefined) return;
    const thresholds = settings.thresholdsPercent.length === 0 ? DEFAULT_ALERT_THRESHOLDS_PERCENT : settings.thresholdsPercent;
    const now = deps.clock.now();
    // Per counters, not per name (`counterScopeOf`): a budget whose period or time zone moved, or
    // created again under its name, crosses its thresholds anew, and receivers see a new event id.
    const scope = counterScopeOf(budget);
    const keyOf = (percent: number) => `budget-alert:{${tenant}}:${scope}:${period.key}:${percent}`;
    const open = thresholds.filter((p) => (seen.get(keyOf(p)) ?? 0) <= now);
    if (open.length === 0) return;
    const spentMicros = reported ?? (await deps.reservations.snapshot(tenant, budget, period.start)).spentMicros;
    const ttl = ttlOf(period, now);
    for (const percent of open) {
      if (spentMicros * 100n < budget.limitMicros * BigInt(percent)) continue;
      const key = keyOf(percent);
      const count = await deps.state.increment(key, 1, ttl);
      remember(key, now + ttl, now);
      if (count !== 1) continue; // another replica (or an earlier check) emitted it
      emit(
        {
          type: "budget.threshold_crossed",
          id: `${scope}:${period.key}:${percent}`,
          budget: budget.id,
          level: budget.level,
          orgId: tenant,
          thresholdPercent: percent,
          limitMicrosUsd: budget.limitMicros.toString(),
          spentMicrosUsd: spentMicros.toString(),
          period: budget.period,
          periodStart: period.start.toISOString(),
          periodEnd: period.end === undefined ? null : period.end.toISOString(),
          occurredAt: new Date(now).toISOString(),
        },
        settings.webhookUrl || opts.webhookUrl,
      );
    }
  };

  return {
    afterSettle(reservation, settled) {
      for (const line of reservation.lines) {
        const reported = settled?.find((s) => s.budget.id === line.budget.id && s.period.key === line.period.key);
        // Judged against the cap in force at the call's latest hold (the settle reports it): one
        // lowered while the call ran is the cap its spend now counts against, not the admission's.
        track(
          check(reservation.tenant, reported?.budget ?? line.budget, line.period, reported?.spentMicros).catch((err: unknown) => {
            deps.logger.debug({ err: err instanceof Error ? err.message : String(err), budget: line.budget.id }, "budget alert check skipped");
          }),
        );
      }
    },
    async drain() {
      while (running.size > 0) await Promise.allSettled([...running]);
    },
  };
}
