import { request, type Dispatcher } from "undici";
import { defaultEgress, EgressRefusedError } from "../http/egress-connect.js";
import { withUrlCredentials } from "../http/url-credentials.js";
import type { Logger } from "../observability/logger.js";
import { urlForLog, withoutUrl } from "../observability/log-redaction.js";

/** Sends one POST with a JSON body; resolves the HTTP status, rejects on a network error or timeout. */
export type WebhookPost = (url: string, body: string, headers: Record<string, string>, signal: AbortSignal) => Promise<number>;

/** Options of {@link postAlertWebhook}; defaults documented in the README. */
export interface AlertWebhookOptions {
  /** Longest wait for one delivery attempt's response (default 5000 ms). */
  webhookTimeoutMs?: number;
  /** Delivery attempts per event, the first included (default 4). */
  webhookAttempts?: number;
  /** Wait before the first retry, doubled for each next one (default 500 ms). */
  webhookRetryDelayMs?: number;
}

/**
 * A {@link WebhookPost} through `dispatcher` (the egress policy's: `createEgress(…).dispatcher`),
 * the response body discarded. A redirect is not followed: its 3xx is the attempt's status.
 */
export function createWebhookPost(dispatcher: Dispatcher): WebhookPost {
  return async (url, body, headers, signal) => {
    const res = await request(url, { method: "POST", body, headers, signal, dispatcher });
    await res.body.dump().catch(() => undefined);
    return res.statusCode;
  };
}

/** Statuses worth another attempt: the receiver may accept later (timeouts, throttling, 5xx). */
function retryable(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/**
 * Delivers one alert event to `url` as `application/json`, with the header
 * `x-switchboard-event-id` carrying the event's id (the same on every attempt). A 2xx ends it;
 * a network error, a timeout, 408, 429 or 5xx is retried after `webhookRetryDelayMs`, doubling,
 * up to `webhookAttempts` attempts; any other status, or the last failure, is logged at error level
 * with the status or error (never the URL's userinfo or query, which may hold a token). Userinfo in
 * the URL (`https://user:pass@host/…`) is sent as an `Authorization: Basic` header, the URL
 * without it (`withUrlCredentials`). An address the egress policy refuses (`http/egress-policy.ts`)
 * is not retried. Never rejects.
 */
export async function postAlertWebhook(
  url: string,
  event: { id: string },
  deps: { post?: WebhookPost; logger: Logger },
  opts: AlertWebhookOptions = {},
): Promise<void> {
  const post = deps.post ?? createWebhookPost(defaultEgress().dispatcher);
  const timeoutMs = opts.webhookTimeoutMs ?? 5000;
  const attempts = Math.max(1, opts.webhookAttempts ?? 4);
  let delay = opts.webhookRetryDelayMs ?? 500;
  const body = JSON.stringify(event);
  const sent = withUrlCredentials(url, { "content-type": "application/json", "user-agent": "switchboard-budget-alerts", "x-switchboard-event-id": event.id });
  const target = urlForLog(url);
  let last = "";
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      const status = await post(sent.url, body, sent.headers, AbortSignal.timeout(timeoutMs));
      if (status >= 200 && status < 300) return;
      last = `HTTP ${status}`;
      if (!retryable(status)) break;
    } catch (err) {
      // An error's message may quote the URL (an invalid one, whole).
      last = withoutUrl(err instanceof Error ? `${err.name}: ${err.message}` : String(err), url);
      // The policy will refuse the next attempt too: no retry.
      if (err instanceof EgressRefusedError) break;
    }
    if (attempt < attempts) {
      await new Promise((resolve) => setTimeout(resolve, delay).unref());
      delay *= 2;
    }
  }
  deps.logger.error({ alertId: event.id, webhook: target, error: last }, "budget alert webhook delivery failed");
}
