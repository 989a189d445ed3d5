import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["server/**/*.test.ts", "test/**/*.test.ts", "scripts/**/*.test.ts", "clients/ts/**/*.test.ts"],
    // kysely's FileMigrationProvider uses dynamic import(); inline it so vitest resolves it.
    server: { deps: { inline: ["kysely"] } },
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Each file gets its own database/schema; two cores, so keep workers bounded.
    maxWorkers: 2,
  },
});
