/**
 * Entry point: load and validate configuration, build dependencies, listen, drain on SIGTERM.
 * The only module that reads the environment.
 */
import { ConfigError } from "./config/config-error.js";
import { loadConfig, type Config } from "./config/config.js";
import { listen } from "./http/listener.js";
import { createLogger } from "./observability/logger.js";
import { createServer } from "./server.js";
import { createDatabase } from "./store/database.js";
import { migrateToLatest } from "./store/migrate.js";
import { createMemoryState } from "./store/state/memory-state.js";
import { createRedisState } from "./store/state/redis-state.js";
import type { StateBackend } from "./store/state/state-backend.js";

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig({ file: process.env.SWITCHBOARD_CONFIG || undefined, env: process.env });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`switchboard: ${err.message}\n`);
    process.exit(2);
  }
  const logger = createLogger({ level: config.log.level });

  const database = await createDatabase({
    databaseUrl: config.database.url,
    dataDir: config.database.dataDir,
    pool: config.database.poolSize,
  });
  await migrateToLatest(database.db);
  const state: StateBackend = config.redis.url
    ? createRedisState({
        url: config.redis.url,
        commandTimeoutMs: config.redis.commandTimeoutMs,
        connectTimeoutMs: config.redis.connectTimeoutMs,
      })
    : createMemoryState();

  const server = createServer({ logger }, { maxRequestBytes: config.server.maxRequestBytes });
  const listener = await listen(server.handler, { host: config.server.host, port: config.server.port });
  logger.info({ url: listener.url, database: database.kind, state: config.redis.url ? "redis" : "memory" }, "listening");
  process.stderr.write(banner(listener.url, database.kind, config));

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, graceMs: config.server.shutdownGraceMs, inFlight: listener.inFlight() }, "draining");
    server.health.shutdown();
    await listener.shutdown(config.server.shutdownGraceMs);
    await state.close();
    await database.close();
    logger.info("stopped");
    logger.flush();
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
}

function banner(url: string, databaseKind: string, config: Config): string {
  const storage = databaseKind === "pglite" ? `embedded PGlite in ${config.database.dataDir}` : "Postgres";
  const state = config.redis.url ? "Redis" : "in-process";
  return [
    "",
    `  Switchboard is listening on ${url} (Connect, gRPC and gRPC-Web on one port)`,
    `  storage: ${storage}; counters and cache: ${state}`,
    "",
    "  Try it:",
    `    npx buf curl --protocol grpc --http2-prior-knowledge ${url}/grpc.health.v1.Health/Check`,
    `    npx buf curl --protocol grpc --http2-prior-knowledge --list-services ${url}`,
    `    npx buf curl --protocol connect ${url}/grpc.health.v1.Health/Check`,
    "",
  ].join("\n");
}

main().catch((err: unknown) => {
  process.stderr.write(`switchboard: failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
