import { SpanKind, SpanStatusCode, type Tracing } from "./tracing.js";

/** What the database reports of one ended query (`DatabaseOptions.onQuery`). */
export interface EndedQuery {
  sql: string;
  durationMs: number;
  error?: unknown;
}

/**
 * The database hook that gives every query made inside a traced request a CLIENT span
 * (`db select`, …) ending now and starting `durationMs` ago, with `db.system.name`,
 * `db.operation.name` and the parameterised SQL (placeholders only, never values), cut at 500
 * characters. Queries outside a request (background polls, ledger flushes) make no span.
 * Undefined when tracing is off.
 */
export function createQuerySpans(tracing: Tracing): ((q: EndedQuery) => void) | undefined {
  if (!tracing.enabled) return undefined;
  return (q) => {
    if (!tracing.inSpan()) return;
    const operation = /^\s*(\w+)/.exec(q.sql)?.[1]?.toLowerCase() ?? "query";
    const end = Date.now();
    const span = tracing.startSpan(`db ${operation}`, {
      kind: SpanKind.CLIENT,
      startTime: end - q.durationMs,
      attributes: { "db.system.name": "postgresql", "db.operation.name": operation, "db.query.text": q.sql.slice(0, 500) },
    });
    if (q.error !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: (q.error as { code?: string }).code ?? "error" });
    span.end(end);
  };
}
