import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ENV_OVERRIDES } from "../../server/config/config.js";

const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
const main = readFileSync(new URL("../../server/main.ts", import.meta.url), "utf8");

describe("README", () => {
  it("documents every environment variable the gateway reads, with its config path", () => {
    for (const { env, path } of ENV_OVERRIDES) {
      expect(readme, env).toMatch(new RegExp(`\\| \`${env}\` \\| \`${path.replace(".", "\\.")}\` \\|`));
    }
    const readDirectly = [...main.matchAll(/process\.env\.([A-Z_]+)/g)].map((m) => m[1]!);
    expect(readDirectly.length).toBeGreaterThan(0);
    for (const env of readDirectly) expect(readme, env).toContain(`\`${env}\``);
  });

  it("shows the two set-up commands", () => {
    expect(readme).toContain("npm ci && npm start");
    expect(readme).toContain("npm ci && npm test");
  });
});

describe("README provider table", () => {
  it("is exactly what the adapters declare", async () => {
    const { providerTableMarkdown } = await import("../../server/providers/provider-table.js");
    const match = /<!-- provider-table:start -->\n([\s\S]*?)\n<!-- provider-table:end -->/.exec(readme);
    expect(match, "README has the generated provider table").not.toBeNull();
    expect(match![1]).toBe(providerTableMarkdown());
  });
});
