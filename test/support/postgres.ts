import { randomBytes } from "node:crypto";
import pg from "pg";
import { requireEnv } from "./require-env.js";

/** A database created for one test file; `drop()` removes it even if connections are left open. */
export interface TestDatabase {
  /** Connection URL of the fresh, empty database. */
  url: string;
  drop(): Promise<void>;
}

/**
 * Creates an empty database `sb_test_<random>` on the server named by `DATABASE_URL` and returns
 * its URL. vitest runs files in parallel, so each file takes its own database instead of sharing
 * one and stepping on another file's tables. Throws when `DATABASE_URL` is unset.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const adminUrl = requireEnv("DATABASE_URL");
  const name = `sb_test_${randomBytes(6).toString("hex")}`;
  await withClient(adminUrl, (client) => client.query(`create database ${name}`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  let dropped: Promise<void> | undefined;
  return {
    url: url.toString(),
    drop() {
      dropped ??= withClient(adminUrl, (client) => dropWhenIdle(client, name));
      return dropped;
    },
  };
}

/**
 * Drops `name` once its last session has gone. A pool's `end()` resolves before the server has
 * reaped its backends, and `WITH (FORCE)` would kill those with a FATAL error that surfaces as an
 * unhandled error in the test; so retry the plain drop first and force only as a last resort.
 */
async function dropWhenIdle(client: pg.Client, name: string): Promise<void> {
  for (let attempt = 0; attempt < 50; attempt++) {
    try {
      await client.query(`drop database if exists ${name}`);
      return;
    } catch (err) {
      // 55006 object_in_use: "database is being accessed by other users".
      if ((err as { code?: string }).code !== "55006") throw err;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  await client.query(`drop database if exists ${name} with (force)`);
}

/**
 * Runs `work` on a fresh connection to `url` (e.g. a test database's URL, as the superuser the
 * tests connect as, past the gateway's own checks) and closes it afterwards.
 */
export async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}
