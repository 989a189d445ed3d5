import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { issuesOf } from "./config-issues.testing.js";
import { loadConfig } from "./config.js";

function configFrom(yaml: string) {
  const dir = mkdtempSync(join(tmpdir(), "sb-route-config-org-cred-"));
  const file = join(dir, "switchboard.yaml");
  writeFileSync(file, yaml);
  return loadConfig({ file });
}

// README (Credential vault): "A global route may use only global credentials, an org's route global
// ones and its own org's (`invalid_argument` otherwise), so no route can spend another org's key."
// route-config.ts: config routes "pass the same checks as CreateRoute". Config routes are global
// (route-seeder stores them with org null), so one naming an org's credential must be refused.
describe("config routes may not spend an org's credential", () => {
  it("refuses a config (global) route whose target names orgs/{org}/credentials/{id}", () => {
    const issues = issuesOf(() =>
      configFrom(`
routes:
  shared:
    targets:
      - { provider: openai, model: gpt-4o-mini, credential: orgs/acme/credentials/openai }
`),
    );
    expect(issues).toEqual([expect.stringMatching(/^routes\.shared\.targets\[0\]\.credential: /)]);
  });
});
