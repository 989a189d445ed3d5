/**
 * Reads an environment variable a test cannot run without, failing loudly when it is unset.
 *
 * Tests that need real services never skip silently: a skipped Postgres or Redis suite looks
 * green in CI while testing nothing. `npm test` (scripts/test.sh) starts the services with
 * scripts/services.sh and exports their URLs, so running through it always sets them.
 */
export function requireEnv(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === "") {
    throw new Error(
      `${name} not set; run via npm test (or: eval "$(bash scripts/services.sh up)" before vitest)`,
    );
  }
  return value;
}
