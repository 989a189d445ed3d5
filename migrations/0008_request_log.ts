import { sql, type Kysely } from "kysely";

/**
 * The request log: one row per model call of a route whose request-log mode is not `off`
 * (metadata, and with `redacted` or `full` the request and response bodies), for support and
 * debugging. It is partitioned by day on `created_at` so retention drops whole partitions
 * (`DROP TABLE`, no bulk DELETE, no bloat): daily partitions `request_log_pYYYYMMDD` (UTC) are
 * created ahead by the gateway's maintenance job, which also drops those older than
 * `requestLog.retentionDays`. No primary key: rows are append-only and found by request id or by
 * org and time. Ids only — no key secret, no free-text labels — and bodies scrubbed of secrets.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table request_log (
      created_at timestamptz not null,
      request_id text not null,
      org_id text,
      team_id text,
      key_id text,
      verb text not null,
      route text not null,
      provider text not null,
      model text not null,
      code text not null,
      stream boolean not null,
      duration_ms integer not null,
      ttft_ms integer,
      input_tokens integer not null,
      output_tokens integer not null,
      cost_micros_usd bigint not null,
      cache_status text,
      attempts smallint not null,
      mode text not null check (mode in ('metadata', 'redacted', 'full')),
      request jsonb,
      response jsonb
    ) partition by range (created_at)`.execute(db);
  await sql`create index request_log_request_id on request_log (request_id)`.execute(db);
  await sql`create index request_log_org_time on request_log (org_id, created_at)`.execute(db);
}
