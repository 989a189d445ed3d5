import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { ConfigError, type ConfigIssue } from "./config-error.js";
import { closestName } from "./closest-name.js";
import { HOLD_LEASE_DEFAULTS, holdLeaseIssues, type HoldLeaseTimings } from "./hold-lease-config.js";
import { parseConfigRoutes, type ConfigRoutes } from "./route-config.js";
import { providerEnvIssues } from "./provider-env.js";
import { parseSecret } from "../auth/key-format.js";
import { MIN_PEPPER_BYTES } from "../auth/pepper.js";
import { parseTrustedProxy } from "../auth/client-address.js";
import { parseEgressAllowEntry } from "../http/egress-policy.js";
import { parseMasterKey } from "../vault/master-key.js";

/** Log levels pino accepts. */
export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
/** One of {@link LOG_LEVELS}. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * The gateway's typed configuration. It comes from an optional YAML file overlaid with
 * environment variables (see {@link ENV_OVERRIDES}) and is validated once at start; nothing
 * else reads configuration.
 */
export interface Config {
  server: {
    /** Address to listen on. */
    host: string;
    /** Port for Connect, gRPC, gRPC-Web, /metrics and the OpenAI surface (0: any free port). */
    port: number;
    /** How long SIGTERM waits for in-flight requests and streams before closing them. */
    shutdownGraceMs: number;
    /** Largest request body accepted, in bytes. */
    maxRequestBytes: number;
    /** How long a stream's write may wait for a caller that stopped reading before the stream is ended and billed. */
    writeStallTimeoutMs: number;
    /**
     * How far V8 lets the old generation grow past its live size before the next full GC, in
     * percent (100: to twice the live size); 0 (the default) leaves V8's own choice (up to 4× on a
     * machine with 8 GB or more). A growth factor, not a cap: see `server/runtime/heap-growth.ts`.
     */
    heapGrowthPercent: number;
    /**
     * IPs and CIDRs (IPv4, IPv6) of the reverse proxies and load balancers in front of the
     * gateway: from a peer listed here, the client is the right-most `X-Forwarded-For` entry that is
     * not listed itself; from any other peer the header is ignored (default none: the socket's
     * peer is the client). The unknown-key throttle counts callers by it, the audit log records it.
     * See `server/auth/client-address.ts`.
     */
    trustedProxies: string[];
  };
  database: {
    /** Postgres connection string; unset: embedded PGlite in `dataDir`. */
    url?: string;
    /** Folder of the embedded PGlite database. */
    dataDir: string;
    /** Postgres pool size per replica. */
    poolSize: number;
    /** Postgres `statement_timeout` of the gateway's sessions (0: none); also how soon a silent connection is dropped. */
    statementTimeoutMs: number;
    /** The startup migrations' `statement_timeout` (0: none): how long one may run or wait (the migration lock, a silent server). */
    migrationTimeoutMs: number;
    /** Embedded PGlite's `shared_buffers`, in MB (resident for the process's life). */
    embeddedSharedBuffersMb: number;
    /** Compile embedded PGlite with V8's optimising tier too: faster queries, ≈ 100 MB more memory. */
    embeddedOptimizedWasm: boolean;
  };
  redis: {
    /** Redis URL; unset: in-process state (single replica only). */
    url?: string;
    /** Per-command timeout: a slow Redis degrades, never hangs, requests. */
    commandTimeoutMs: number;
    /** Connect timeout. */
    connectTimeoutMs: number;
    /** Consecutive failed commands that open the Redis circuit breaker (calls then fail fast). */
    breakerFailures: number;
    /** How long the breaker stays open before one probe call is let through. */
    breakerCoolDownMs: number;
  };
  log: {
    /** Minimum level written. */
    level: LogLevel;
    /** Human-readable lines instead of JSON, only when stdout is a terminal (`SWITCHBOARD_LOG_PRETTY`). */
    pretty: boolean;
    /**
     * The longest a JSON line waits on stdout to be written with the lines after it (0: every line
     * written as it comes); see `observability/batched-destination.ts`.
     */
    batchMs: number;
  };
  /** Virtual-key authentication (tenancy). */
  auth: {
    /**
     * HMAC key for stored key secrets, at least 32 bytes. Required with `database.url` (every
     * replica needs the same one); unset with PGlite: generated once into `<dataDir>/pepper`.
     */
    pepper?: string;
    /** A key (`sb_live_…`) to install as the bootstrap admin key on a database with no keys; unset: generated and printed once. */
    bootstrapKey?: string;
    /** How long a validated key is trusted without a database lookup: the revocation bound across replicas. */
    cacheTtlMs: number;
    /** Lookups of keys matching none that one client address may start at once (0: unbounded); see the authenticator's `unknownKeyBurst`. */
    unknownKeyBurst: number;
    /** How many of those lookups each address is given back a minute. */
    unknownKeysPerMinute: number;
  };
  /** The credential vault's master keys (base64 of 32 random bytes each). */
  vault: {
    /**
     * Wraps every credential's data key. Required with `database.url` (every replica needs the
     * same one); unset with PGlite: generated once into `<dataDir>/master-key`.
     */
    masterKey?: string;
    /** The key being rotated away from: still unwraps, never wraps. Set only during a rotation. */
    previousMasterKey?: string;
  };
  /** External checkpoints of the audit chain's head (`server/audit/checkpoint-exporter.ts`). */
  audit: {
    /** How often the head is exported while it moves; 0: only at shutdown. */
    checkpointIntervalMs: number;
    /** Append-only file that receives one JSON line per checkpoint; unset: the log line only. */
    checkpointFile?: string;
    /** URL each checkpoint is POSTed to as JSON; unset: none. May carry a token: never echoed. */
    checkpointWebhookUrl?: string;
  };
  /** The usage ledger's local write buffer (money). */
  ledger: {
    /** Folder of the buffer files: one per replica, on a local disk; unset: beside `database.dataDir`, named for it (`.data/ledger` for `.data/pglite`, else `<dataDir>-ledger`). */
    dir?: string;
    /**
     * A folder every replica of this deployment shares (same database!): each replica keeps its
     * buffer in its own subfolder there (`dir` is then ignored) and adopts the buffers of
     * replicas on this host that are gone. Unset: no adoption.
     */
    sharedDir?: string;
    /** How often buffered records are committed to Postgres. */
    flushIntervalMs: number;
    /** Records allowed to wait for Postgres; beyond, paid calls are shed. */
    maxPendingRows: number;
    /** `always`: each append is synced to disk before it is acknowledged; `never`: left to the OS. */
    fsync: "always" | "never";
  };
  /** Budget reservations and the budget / rate-limit definitions (money). */
  budgets: {
    /** Output tokens reserved for a call whose request and route set no max output tokens. */
    defaultMaxOutputTokens: number;
    /** A model without a price under a spend cap: `refuse` the call, or `allow` it at cost 0. */
    unpricedModels: "refuse" | "allow";
    /** How often budget and rate-limit definitions are re-read: the bound on a change reaching a replica. */
    pollMs: number;
    /** Largest max output tokens a call may ask for; larger asks are clamped to it (0: no clamp). */
    maxOutputTokens: number;
    /** Where soft-threshold alerts of budgets without their own webhook are POSTed; unset: log only. */
    alertWebhookUrl?: string;
  } & HoldLeaseTimings;
  /** Traces (observability). */
  telemetry: {
    /** OTLP/HTTP collector base URL (`OTEL_EXPORTER_OTLP_ENDPOINT`); unset: no tracer at all. */
    otlpEndpoint?: string;
    /** `service.name` of the exported spans. */
    serviceName: string;
  };
  /** The request log (Postgres, partitioned by day). */
  requestLog: {
    /** What is stored per model call: off, metadata, redacted (bodies with PII masked) or full. */
    mode: "off" | "metadata" | "redacted" | "full";
    /** Per-route-alias modes that replace `mode` (YAML only), e.g. `{ support: redacted }`. */
    routes: Record<string, "off" | "metadata" | "redacted" | "full">;
    /** Days a day's partition is kept once the day is over; older partitions are dropped. */
    retentionDays: number;
    /** Longest request or response body stored, in bytes of JSON; longer ones are cut. */
    maxBodyBytes: number;
  };
  /** Idempotency keys of the verbs (`RequestOptions.idempotency_key`). */
  idempotency: {
    /**
     * How long a running call's claim of its key lasts unless renewed (it is, every third of it):
     * a key whose replica died is free again within this. Shorter frees it sooner, at one more
     * UPDATE per running call per renewal.
     */
    leaseMs: number;
  };
  /** Overload shedding (P23): model calls in flight, per replica; 0 turns a cap off. */
  overload: {
    /** Model calls this replica runs at once; more are refused at once with `resource_exhausted`. */
    maxInFlight: number;
    /** Model calls one key runs at once on this replica. */
    maxInFlightPerKey: number;
    /** The retry delay a shed caller is given. */
    retryAfterMs: number;
  };
  /**
   * Outbound calls to URLs set through the admin API: budget alert webhooks and external
   * guardrail services (`server/http/egress-policy.ts`, where the defaults are argued).
   * Link-local and cloud metadata addresses are always refused unless `allow` lists them.
   */
  egress: {
    /** Loopback and private addresses: `allow` (default: in-cluster services, local development) or `deny` unless listed in `allow`. */
    private: "allow" | "deny";
    /** IPs, CIDRs, host names and `*.suffix` wildcards always reachable; only an IP or CIDR entry reaches a metadata address. */
    allow: string[];
  };
  /**
   * Global routes seeded at start (YAML only), by alias: created, or replaced when the stored
   * definition differs; routes not named here are left alone. See `server/dispatch/route-seeder.ts`.
   */
  routes: ConfigRoutes;
}

/** The defaults: the embedded, single-process setup `npm start` runs. */
export function defaultConfig(): Config {
  return {
    server: { host: "127.0.0.1", port: 8080, shutdownGraceMs: 30_000, maxRequestBytes: 32 * 1024 * 1024, writeStallTimeoutMs: 30_000, heapGrowthPercent: 0, trustedProxies: [] },
    database: { dataDir: ".data/pglite", poolSize: 10, statementTimeoutMs: 30_000, migrationTimeoutMs: 600_000, embeddedSharedBuffersMb: 16, embeddedOptimizedWasm: false },
    redis: { commandTimeoutMs: 50, connectTimeoutMs: 1_000, breakerFailures: 5, breakerCoolDownMs: 1_000 },
    log: { level: "info", pretty: false, batchMs: 50 },
    auth: { cacheTtlMs: 5_000, unknownKeyBurst: 20, unknownKeysPerMinute: 60 },
    vault: {},
    audit: { checkpointIntervalMs: 60_000 },
    ledger: { flushIntervalMs: 200, maxPendingRows: 100_000, fsync: "always" },
    budgets: { defaultMaxOutputTokens: 4096, unpricedModels: "refuse", pollMs: 1_000, maxOutputTokens: 65_536, ...HOLD_LEASE_DEFAULTS },
    telemetry: { serviceName: "switchboard" },
    requestLog: { mode: "off", routes: {}, retentionDays: 7, maxBodyBytes: 64 * 1024 },
    idempotency: { leaseMs: 30_000 },
    overload: { maxInFlight: 1024, maxInFlightPerKey: 256, retryAfterMs: 1_000 },
    egress: { private: "allow", allow: [] },
    routes: {},
  };
}

/**
 * Environment variables that override a config path. The table is also the README's list, so a
 * variable cannot exist without being documented there (a test checks it).
 */
export const ENV_OVERRIDES: ReadonlyArray<{ env: string; path: string; description: string }> = [
  { env: "SWITCHBOARD_HOST", path: "server.host", description: "address to listen on" },
  { env: "SWITCHBOARD_PORT", path: "server.port", description: "port for every protocol (0: any free port)" },
  { env: "SWITCHBOARD_SHUTDOWN_GRACE_MS", path: "server.shutdownGraceMs", description: "drain time on SIGTERM" },
  { env: "SWITCHBOARD_MAX_REQUEST_BYTES", path: "server.maxRequestBytes", description: "largest request body" },
  { env: "SWITCHBOARD_WRITE_STALL_TIMEOUT_MS", path: "server.writeStallTimeoutMs", description: "how long a stream waits for a caller that stopped reading before it is ended (and billed)" },
  { env: "SWITCHBOARD_HEAP_GROWTH_PERCENT", path: "server.heapGrowthPercent", description: "old-generation growth past its live size before a full GC, in % (0: V8's default)" },
  { env: "SWITCHBOARD_TRUSTED_PROXIES", path: "server.trustedProxies", description: "comma-separated IPs and CIDRs of reverse proxies whose X-Forwarded-For names the client (default none)" },
  { env: "DATABASE_URL", path: "database.url", description: "Postgres URL; unset: embedded PGlite" },
  { env: "SWITCHBOARD_DATA_DIR", path: "database.dataDir", description: "embedded PGlite folder" },
  { env: "SWITCHBOARD_DB_POOL_SIZE", path: "database.poolSize", description: "Postgres pool size" },
  { env: "SWITCHBOARD_DB_STATEMENT_TIMEOUT_MS", path: "database.statementTimeoutMs", description: "longest a Postgres statement may run (0: no bound)" },
  { env: "SWITCHBOARD_DB_MIGRATION_TIMEOUT_MS", path: "database.migrationTimeoutMs", description: "longest a statement of the startup migrations may run or wait, for the migration lock included (0: no bound)" },
  { env: "SWITCHBOARD_PGLITE_SHARED_BUFFERS_MB", path: "database.embeddedSharedBuffersMb", description: "embedded PGlite's shared_buffers in MB" },
  { env: "SWITCHBOARD_PGLITE_OPTIMIZED_WASM", path: "database.embeddedOptimizedWasm", description: "true: compile embedded PGlite with V8's optimising tier too (faster queries, ≈ 100 MB more memory)" },
  { env: "REDIS_URL", path: "redis.url", description: "Redis URL; unset: in-process state" },
  { env: "SWITCHBOARD_REDIS_COMMAND_TIMEOUT_MS", path: "redis.commandTimeoutMs", description: "Redis per-command timeout" },
  { env: "SWITCHBOARD_REDIS_CONNECT_TIMEOUT_MS", path: "redis.connectTimeoutMs", description: "Redis connect timeout" },
  { env: "SWITCHBOARD_REDIS_BREAKER_FAILURES", path: "redis.breakerFailures", description: "consecutive Redis failures that open its circuit breaker" },
  { env: "SWITCHBOARD_REDIS_BREAKER_COOLDOWN_MS", path: "redis.breakerCoolDownMs", description: "how long the Redis breaker stays open before a probe" },
  { env: "SWITCHBOARD_LOG_LEVEL", path: "log.level", description: `log level (${LOG_LEVELS.join(", ")})` },
  { env: "SWITCHBOARD_LOG_BATCH_MS", path: "log.batchMs", description: "longest a log line waits to be written with the next ones (0: each line at once)" },
  // Tenancy: the pepper and bootstrap key are secrets — never echoed in errors or logs.
  { env: "SWITCHBOARD_KEY_PEPPER", path: "auth.pepper", description: "HMAC pepper for stored key secrets (≥ 32 bytes)" },
  { env: "SWITCHBOARD_BOOTSTRAP_KEY", path: "auth.bootstrapKey", description: "bootstrap admin key to install on an empty database, or as the break-glass when no platform-admin key is left" },
  { env: "SWITCHBOARD_AUTH_CACHE_TTL_MS", path: "auth.cacheTtlMs", description: "auth cache TTL: the revocation bound" },
  { env: "SWITCHBOARD_AUTH_UNKNOWN_KEY_BURST", path: "auth.unknownKeyBurst", description: "lookups of keys matching none one client address may start at once (0: no per-address bound)" },
  { env: "SWITCHBOARD_AUTH_UNKNOWN_KEYS_PER_MINUTE", path: "auth.unknownKeysPerMinute", description: "lookups of keys matching none given back to each client address a minute" },
  // The credential vault's master keys: secrets, never echoed in errors or logs.
  { env: "SWITCHBOARD_MASTER_KEY", path: "vault.masterKey", description: "master key wrapping credential data keys (base64, 32 bytes)" },
  { env: "SWITCHBOARD_MASTER_KEY_PREVIOUS", path: "vault.previousMasterKey", description: "the master key being rotated away from" },
  // Audit checkpoints: the chain head exported outside the database.
  { env: "SWITCHBOARD_AUDIT_CHECKPOINT_INTERVAL_MS", path: "audit.checkpointIntervalMs", description: "how often the audit chain head is exported (0: at shutdown only)" },
  { env: "SWITCHBOARD_AUDIT_CHECKPOINT_FILE", path: "audit.checkpointFile", description: "file that audit checkpoints are appended to, one JSON line each" },
  { env: "SWITCHBOARD_AUDIT_CHECKPOINT_WEBHOOK_URL", path: "audit.checkpointWebhookUrl", description: "URL that audit checkpoints are POSTed to" },
  // Money: the ledger's write buffer and budget reservations.
  { env: "SWITCHBOARD_LEDGER_DIR", path: "ledger.dir", description: "folder of the usage ledger's local write buffer" },
  { env: "SWITCHBOARD_LEDGER_SHARED_DIR", path: "ledger.sharedDir", description: "folder shared by every replica's ledger buffer, for adopting the buffers of replicas that are gone" },
  { env: "SWITCHBOARD_LEDGER_FLUSH_INTERVAL_MS", path: "ledger.flushIntervalMs", description: "how often buffered usage records are committed" },
  { env: "SWITCHBOARD_LEDGER_MAX_PENDING_ROWS", path: "ledger.maxPendingRows", description: "usage records allowed to wait for Postgres before paid calls are shed" },
  { env: "SWITCHBOARD_LEDGER_FSYNC", path: "ledger.fsync", description: "always or never: sync each buffered record to disk before acknowledging it" },
  { env: "SWITCHBOARD_DEFAULT_MAX_OUTPUT_TOKENS", path: "budgets.defaultMaxOutputTokens", description: "output tokens reserved when a call sets no max" },
  { env: "SWITCHBOARD_UNPRICED_MODELS", path: "budgets.unpricedModels", description: "refuse or allow calls to unpriced models under a spend cap" },
  { env: "SWITCHBOARD_LIMITS_POLL_MS", path: "budgets.pollMs", description: "how often budget and rate-limit definitions are re-read" },
  { env: "SWITCHBOARD_BUDGET_ALERT_WEBHOOK_URL", path: "budgets.alertWebhookUrl", description: "where budget soft-threshold alerts are POSTed" },
  // Observability: pretty logs, traces and the request log.
  { env: "SWITCHBOARD_LOG_PRETTY", path: "log.pretty", description: "true: human-readable log lines when stdout is a terminal" },
  { env: "OTEL_EXPORTER_OTLP_ENDPOINT", path: "telemetry.otlpEndpoint", description: "OTLP/HTTP collector for traces (e.g. http://localhost:4318); unset: no tracing" },
  { env: "OTEL_SERVICE_NAME", path: "telemetry.serviceName", description: "service.name of exported spans" },
  { env: "SWITCHBOARD_REQUEST_LOG_MODE", path: "requestLog.mode", description: "request log: off, metadata, redacted or full" },
  { env: "SWITCHBOARD_REQUEST_LOG_RETENTION_DAYS", path: "requestLog.retentionDays", description: "days of request log kept (older daily partitions are dropped)" },
  { env: "SWITCHBOARD_IDEMPOTENCY_LEASE_MS", path: "idempotency.leaseMs", description: "how long a running call's claim of its idempotency key lasts unless renewed (a dead replica's key is free within it)" },
  // Overload shedding: in-flight caps that refuse at once rather than queue.
  { env: "SWITCHBOARD_MAX_IN_FLIGHT", path: "overload.maxInFlight", description: "model calls in flight per replica before calls are shed (0: no cap)" },
  { env: "SWITCHBOARD_MAX_IN_FLIGHT_PER_KEY", path: "overload.maxInFlightPerKey", description: "model calls in flight per key per replica (0: no cap)" },
  { env: "SWITCHBOARD_OVERLOAD_RETRY_AFTER_MS", path: "overload.retryAfterMs", description: "retry delay given to a shed call" },
  { env: "SWITCHBOARD_MAX_OUTPUT_TOKENS", path: "budgets.maxOutputTokens", description: "largest max output tokens a call may ask for (clamped; 0: no clamp)" },
  { env: "SWITCHBOARD_HOLD_LEASE_TTL_MS", path: "budgets.holdLeaseTtlMs", description: "how long a replica's lease outlives its last refresh before its budget holds are given back" },
  { env: "SWITCHBOARD_HOLD_LEASE_REFRESH_MS", path: "budgets.holdLeaseRefreshMs", description: "how often each replica refreshes its lease (under half the TTL)" },
  { env: "SWITCHBOARD_HOLD_SWEEP_INTERVAL_MS", path: "budgets.holdSweepIntervalMs", description: "mean time between sweeps for holds of replicas whose lease lapsed" },
  // Egress: where admin-set URLs (webhooks, external guardrails) may be called.
  { env: "SWITCHBOARD_EGRESS_PRIVATE", path: "egress.private", description: "allow or deny calls of admin-set URLs to loopback and private addresses" },
  { env: "SWITCHBOARD_EGRESS_ALLOW", path: "egress.allow", description: "comma-separated IPs, CIDRs, host names and *.suffix wildcards admin-set URLs may always reach" },
];

/** Config paths holding secrets: their values never appear in error messages. */
const SECRET_PATHS: ReadonlySet<string> = new Set(["auth.pepper", "auth.bootstrapKey", "vault.masterKey", "vault.previousMasterKey", "audit.checkpointWebhookUrl", "budgets.alertWebhookUrl"]);

/** Where configuration comes from. */
export interface ConfigSources {
  /** Path of a YAML file (`SWITCHBOARD_CONFIG`); unset: defaults and environment only. */
  file?: string;
  /** The environment (only `server/main.ts` passes `process.env`). */
  env?: Readonly<Record<string, string | undefined>>;
}

/**
 * Builds the {@link Config}: defaults, then the YAML file, then environment overrides, then
 * validation. Throws a {@link ConfigError} listing every problem with its exact path (for
 * example `server.port: must be an integer from 0 to 65535, got "80a"`).
 */
export function loadConfig(sources: ConfigSources = {}): Config {
  const issues: ConfigIssue[] = [];
  // No prototype: a file's `__proto__:` is a key like any other (reported as unknown), not a setter.
  const raw: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  if (sources.file !== undefined) {
    const where = sources.file;
    let text: string;
    try {
      text = readFileSync(where, "utf8");
    } catch (err) {
      throw new ConfigError([{ path: where, message: `cannot read config file: ${(err as Error).message}` }]);
    }
    let doc: unknown;
    try {
      // No pretty errors: they quote the lines around the fault, which may hold a secret.
      doc = loadYaml().parse(text, { prettyErrors: false }) ?? {};
    } catch (err) {
      throw new ConfigError([{ path: where, message: `invalid YAML: ${(err as Error).message}${yamlPlace(text, err)}` }]);
    }
    if (!isRecord(doc)) throw new ConfigError([{ path: where, message: "the file must hold a mapping at the top" }]);
    Object.assign(raw, doc);
  }
  for (const { env, path } of ENV_OVERRIDES) {
    const value = sources.env?.[env];
    if (value !== undefined && value !== "") setPath(raw, path, value, env);
  }
  const config = validate(raw, issues);
  if (config.database.url !== undefined && config.auth.pepper === undefined && !issues.some((i) => i.path === "auth.pepper")) {
    issues.push({
      path: "auth.pepper",
      message:
        "required when database.url is set: every replica must hash keys with the same pepper; " +
        "set SWITCHBOARD_KEY_PEPPER to at least 32 random bytes (e.g. `openssl rand -base64 32`) and keep it safe",
    });
  }
  issues.push(...vaultIssues(config, issues));
  issues.push(...holdLeaseIssues(config.budgets, issues));
  // SWITCHBOARD_CREDENTIAL_<ID> and SWITCHBOARD_BASE_URL_<KIND>: read by name pattern, not a path.
  issues.push(...providerEnvIssues(sources.env ?? {}));
  if (issues.length > 0) throw new ConfigError(issues);
  return config;
}

/**
 * The YAML parser, loaded only when there is a file to parse: ≈ 140 modules (≈ 1 MB of heap) a
 * gateway configured by its environment alone never needs. `require`, so `loadConfig` stays
 * synchronous (the package's Node entry is CommonJS either way).
 */
function loadYaml(): typeof import("yaml") {
  return createRequire(import.meta.url)("yaml") as typeof import("yaml");
}

/** Where a YAML parse error is (` at line 3, column 1`), from its offset: never the text there. */
function yamlPlace(text: string, err: unknown): string {
  const pos = (err as { pos?: unknown }).pos;
  const at = Array.isArray(pos) && typeof pos[0] === "number" ? pos[0] : undefined;
  if (at === undefined) return "";
  const before = text.slice(0, at);
  const lineStart = before.lastIndexOf("\n") + 1;
  return ` at line ${before.split("\n").length}, column ${at - lineStart + 1}`;
}

/** Environment values are strings; remember where each came from for error messages. */
interface FromEnv {
  value: string;
  env: string;
}

function setPath(target: Record<string, unknown>, path: string, value: string, env: string): void {
  const [section, key] = path.split(".") as [string, string];
  const existing = target[section];
  // A file's section that is no mapping (`server: 5`) stays as written, to be reported: replacing
  // it with the variable's one key dropped the file's mistake without a word.
  if (existing !== undefined && existing !== null && !isRecord(existing)) return;
  const sectionObj = isRecord(existing) ? existing : {};
  sectionObj[key] = { value, env } satisfies FromEnv;
  target[section] = sectionObj;
}

function validate(raw: Record<string, unknown>, issues: ConfigIssue[]): Config {
  const config = defaultConfig();
  const shape = config as unknown as Record<string, Record<string, unknown>>;
  const optional: Record<string, readonly string[]> = { database: ["url"], redis: ["url"], auth: ["pepper", "bootstrapKey"], vault: ["masterKey", "previousMasterKey"], audit: ["checkpointFile", "checkpointWebhookUrl"], telemetry: ["otlpEndpoint"], ledger: ["dir", "sharedDir"], budgets: ["alertWebhookUrl"] };
  for (const [section, value] of Object.entries(raw)) {
    // A section whose keys are all commented out (`vault:` then `# masterKey: …`) is YAML null: empty.
    // Own keys only: `constructor:` or `toString:` name no section (they are Object.prototype's).
    const known = Object.hasOwn(shape, section) ? shape[section] : undefined;
    if (value === null && known !== undefined) continue;
    // Routes are keyed by alias, not by fixed names: parsed and checked like RouteService input.
    if (section === "routes") {
      config.routes = parseConfigRoutes(value, issues);
      continue;
    }
    if (known === undefined) {
      issues.push({ path: section, message: unknownKey(section, Object.keys(shape)) });
      continue;
    }
    if (!isRecord(value)) {
      issues.push({ path: section, message: "must be a mapping" });
      continue;
    }
    const keys = [...Object.keys(known), ...(Object.hasOwn(optional, section) ? optional[section]! : [])];
    for (const [key, v] of Object.entries(value)) {
      const path = `${section}.${key}`;
      if (!keys.includes(key)) {
        issues.push({ path, message: unknownKey(key, keys) });
        continue;
      }
      const parsed = parseField(path, v, issues);
      if (parsed !== undefined) known[key] = parsed;
    }
  }
  return config;
}

type Parser = (value: unknown) => { ok: true; value: unknown } | { ok: false; expected: string };

const integer =
  (min: number, max: number): Parser =>
  (value) => {
    const n = typeof value === "string" && /^-?\d+$/.test(value.trim()) ? Number(value) : value;
    return typeof n === "number" && Number.isInteger(n) && n >= min && n <= max
      ? { ok: true, value: n }
      : { ok: false, expected: `an integer from ${min} to ${max}` };
  };
const text: Parser = (value) =>
  typeof value === "string" && value.length > 0 ? { ok: true, value } : { ok: false, expected: "a non-empty string" };
const url =
  (schemes: readonly string[]): Parser =>
  (value) => {
    if (typeof value === "string") {
      try {
        const u = new URL(value);
        if (schemes.includes(u.protocol)) return { ok: true, value };
      } catch {
        // fall through to the error below
      }
    }
    return { ok: false, expected: `a URL starting with ${schemes.map((s) => `${s}//`).join(" or ")}` };
  };
/**
 * A Redis URL as ioredis reads it, checked beyond `new URL`: the scheme spelled in lower case
 * (ioredis turns TLS on only for a literal `rediss://`, so `REDISS://` would send the password in
 * clear), userinfo that percent-decodes (ioredis's `decodeURIComponent` throws in `new Redis`), and
 * a database index, in the path or `?db=`, that is a whole number (`/abc` is `SELECT NaN`, an
 * unhandled rejection that ends the process once it has half started).
 */
const redisUrl: Parser = (value) => {
  const expected = "a URL starting with redis:// or rediss:// (lower case), with percent-encoded userinfo and an optional whole database number (`/0`)";
  if (typeof value !== "string" || !/^rediss?:\/\//.test(value)) return { ok: false, expected };
  try {
    const u = new URL(value);
    decodeURIComponent(u.username);
    decodeURIComponent(u.password);
    const db = u.searchParams.get("db");
    if ((u.pathname === "" || u.pathname === "/" || /^\/\d+$/.test(u.pathname)) && (db === null || /^\d+$/.test(db))) return { ok: true, value };
  } catch {
    // fall through to the error below
  }
  return { ok: false, expected };
};
const oneOf =
  (choices: readonly string[]): Parser =>
  (value) =>
    typeof value === "string" && choices.includes(value)
      ? { ok: true, value }
      : { ok: false, expected: `one of ${choices.join(", ")}` };

const pepper: Parser = (value) =>
  typeof value === "string" && Buffer.byteLength(value, "utf8") >= MIN_PEPPER_BYTES
    ? { ok: true, value }
    : { ok: false, expected: `a string of at least ${MIN_PEPPER_BYTES} bytes (e.g. \`openssl rand -base64 32\`)` };
const masterKeyText: Parser = (value) => {
  const parsed = typeof value === "string" ? parseMasterKey(value) : { error: "is not a string" };
  return "key" in parsed ? { ok: true, value } : { ok: false, expected: `base64 of 32 random bytes (\`openssl rand -base64 32\`); it ${parsed.error}` };
};
const virtualKey: Parser = (value) =>
  typeof value === "string" && parseSecret(value) !== undefined
    ? { ok: true, value }
    : { ok: false, expected: "a well-formed Switchboard key (sb_live_…, with a valid checksum)" };

const boolean: Parser = (value) => {
  if (typeof value === "boolean") return { ok: true, value };
  if (value === "true" || value === "1") return { ok: true, value: true };
  if (value === "false" || value === "0") return { ok: true, value: false };
  return { ok: false, expected: "true or false" };
};
/** A list of egress allow-list entries: a YAML list, or one string separated by commas or spaces (the environment). */
const egressAllow: Parser = (value) => {
  const entries = typeof value === "string" ? value.split(/[\s,]+/).filter((e) => e !== "") : value;
  const expected = "a list of IPs, CIDRs (10.0.0.0/8), host names or *.suffix wildcards (comma-separated in the environment)";
  if (!Array.isArray(entries) || !entries.every((e): e is string => typeof e === "string")) return { ok: false, expected };
  const errors = entries.flatMap((e) => {
    const parsed = parseEgressAllowEntry(e);
    return "error" in parsed ? [parsed.error] : [];
  });
  return errors.length === 0 ? { ok: true, value: entries } : { ok: false, expected: `${expected}; ${errors.join("; ")}` };
};
/** The trusted proxies: a YAML list, or one string separated by commas or spaces (the environment). */
const trustedProxies: Parser = (value) => {
  const entries = typeof value === "string" ? value.split(/[\s,]+/).filter((e) => e !== "") : value;
  const expected = "a list of IPs and CIDRs (10.0.0.0/8, fd00::/8; comma-separated in the environment)";
  if (!Array.isArray(entries) || !entries.every((e): e is string => typeof e === "string")) return { ok: false, expected };
  const errors = entries.flatMap((e) => {
    const parsed = parseTrustedProxy(e);
    return "error" in parsed ? [parsed.error] : [];
  });
  return errors.length === 0 ? { ok: true, value: entries } : { ok: false, expected: `${expected}; ${errors.join("; ")}` };
};
const REQUEST_LOG_MODES = ["off", "metadata", "redacted", "full"] as const;
const modesByRoute: Parser = (value) =>
  isRecord(value) && Object.values(value).every((m) => typeof m === "string" && (REQUEST_LOG_MODES as readonly string[]).includes(m))
    ? { ok: true, value }
    : { ok: false, expected: `a mapping of route alias to one of ${REQUEST_LOG_MODES.join(", ")}` };

const PARSERS: Record<string, Parser> = {
  "server.host": text,
  "server.port": integer(0, 65_535),
  "server.shutdownGraceMs": integer(0, 3_600_000),
  "server.maxRequestBytes": integer(1024, 1024 * 1024 * 1024),
  "server.writeStallTimeoutMs": integer(100, 3_600_000),
  "server.heapGrowthPercent": integer(0, 300),
  "server.trustedProxies": trustedProxies,
  "database.url": url(["postgres:", "postgresql:"]),
  "database.dataDir": text,
  "database.poolSize": integer(1, 1000),
  "database.statementTimeoutMs": integer(0, 86_400_000),
  "database.migrationTimeoutMs": integer(0, 86_400_000),
  "database.embeddedSharedBuffersMb": integer(1, 1024),
  "database.embeddedOptimizedWasm": boolean,
  "redis.url": redisUrl,
  "redis.commandTimeoutMs": integer(1, 60_000),
  "redis.connectTimeoutMs": integer(1, 300_000),
  "redis.breakerFailures": integer(1, 1000),
  "redis.breakerCoolDownMs": integer(1, 300_000),
  "log.level": oneOf(LOG_LEVELS),
  "auth.pepper": pepper,
  "auth.bootstrapKey": virtualKey,
  "auth.cacheTtlMs": integer(0, 60_000),
  "auth.unknownKeyBurst": integer(0, 100_000),
  "auth.unknownKeysPerMinute": integer(1, 6_000_000),
  "vault.masterKey": masterKeyText,
  "vault.previousMasterKey": masterKeyText,
  "audit.checkpointIntervalMs": integer(0, 86_400_000),
  "audit.checkpointFile": text,
  "audit.checkpointWebhookUrl": url(["http:", "https:"]),
  "ledger.dir": text,
  "ledger.sharedDir": text,
  "ledger.flushIntervalMs": integer(10, 60_000),
  "ledger.maxPendingRows": integer(100, 100_000_000),
  "ledger.fsync": oneOf(["always", "never"]),
  "budgets.defaultMaxOutputTokens": integer(1, 1_000_000),
  "budgets.unpricedModels": oneOf(["refuse", "allow"]),
  "budgets.pollMs": integer(50, 600_000),
  "budgets.alertWebhookUrl": url(["http:", "https:"]),
  "log.pretty": boolean,
  "log.batchMs": integer(0, 1000),
  "telemetry.otlpEndpoint": url(["http:", "https:"]),
  "telemetry.serviceName": text,
  "requestLog.mode": oneOf(REQUEST_LOG_MODES),
  "requestLog.routes": modesByRoute,
  "requestLog.retentionDays": integer(1, 3650),
  "requestLog.maxBodyBytes": integer(256, 16 * 1024 * 1024),
  "idempotency.leaseMs": integer(1_000, 3_600_000),
  "overload.maxInFlight": integer(0, 1_000_000),
  "budgets.maxOutputTokens": integer(0, 1_000_000),
  "budgets.holdLeaseTtlMs": integer(500, 3_600_000),
  "budgets.holdLeaseRefreshMs": integer(50, 1_800_000),
  "budgets.holdSweepIntervalMs": integer(50, 3_600_000),
  "overload.maxInFlightPerKey": integer(0, 1_000_000),
  "overload.retryAfterMs": integer(1, 600_000),
  "egress.private": oneOf(["allow", "deny"]),
  "egress.allow": egressAllow,
};

function parseField(path: string, input: unknown, issues: ConfigIssue[]): unknown {
  const fromEnv = isFromEnv(input) ? input : undefined;
  const value = fromEnv ? fromEnv.value : input;
  const parser = PARSERS[path];
  if (parser === undefined) throw new Error(`no parser for config path ${path}`);
  const result = parser(value);
  if (result.ok) return result.value;
  const source = fromEnv ? ` (from ${fromEnv.env})` : "";
  const got = SECRET_PATHS.has(path)
    ? "the value given is not shown (secret)"
    : `got ${/url|endpoint/i.test(path) ? "a value that is not a valid URL" : JSON.stringify(value)}`;
  issues.push({ path, message: `must be ${result.expected}, ${got}${source}` });
  return undefined;
}

function unknownKey(key: string, known: readonly string[]): string {
  const guess = closestName(key, known);
  return `unknown key "${key}"${guess ? ` (did you mean "${guess}"?)` : ""}; known keys: ${known.join(", ")}`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isFromEnv(value: unknown): value is FromEnv {
  return isRecord(value) && typeof value.env === "string" && typeof value.value === "string" && Object.keys(value).length === 2;
}

/**
 * The master-key rules across fields: required with `database.url` (replicas must share it, and a
 * generated one would be lost with the container), the previous key only beside a current one,
 * and never the same key twice. Values are never quoted.
 */
function vaultIssues(config: Config, found: readonly ConfigIssue[]): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  const { masterKey, previousMasterKey } = config.vault;
  if (config.database.url !== undefined && masterKey === undefined && !found.some((i) => i.path === "vault.masterKey")) {
    out.push({
      path: "vault.masterKey",
      message:
        "required when database.url is set: every replica must unwrap credentials with the same master key; " +
        "set SWITCHBOARD_MASTER_KEY to `openssl rand -base64 32` and keep it in your secret store",
    });
  }
  if (previousMasterKey !== undefined && masterKey === undefined) {
    out.push({ path: "vault.previousMasterKey", message: "set only during a rotation, beside a new vault.masterKey (SWITCHBOARD_MASTER_KEY)" });
  }
  if (masterKey !== undefined && previousMasterKey !== undefined) {
    const current = parseMasterKey(masterKey);
    const previous = parseMasterKey(previousMasterKey);
    if ("key" in current && "key" in previous && current.key.equals(previous.key)) {
      out.push({ path: "vault.previousMasterKey", message: "is the same key as vault.masterKey; a rotation needs a new current key" });
    }
  }
  return out;
}
