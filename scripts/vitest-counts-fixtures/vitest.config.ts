// Runs one fixture (FIXTURE=name) for scripts/vitest-counts.test.ts; the main config never picks
// up `*.fixture.ts`.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: { include: [`scripts/vitest-counts-fixtures/${process.env.FIXTURE ?? "none"}.fixture.ts`] },
});
