import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { defaultConfig, loadConfig } from "./config.js";

function writeYaml(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), "sb-config-readme-"));
  const file = join(dir, "switchboard.yaml");
  writeFileSync(file, text);
  return file;
}

// README "Configuration": "Example file (every key optional; these are the defaults)". Users copy it
// as the start of their own file; its `vault:` section has every key commented out, which YAML
// reads as `vault: null`.
describe("the README's example config file", () => {
  const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
  const block = /Example file \(every key optional; these are the defaults\):\n\n```yaml\n([\s\S]*?)```/.exec(readme)?.[1];

  it("loads as written and gives exactly the defaults", () => {
    expect(block).toBeDefined();
    expect(loadConfig({ file: writeYaml(block!), env: {} })).toEqual(defaultConfig());
  });

  it("accepts a section whose keys are all commented out (an empty section)", () => {
    const file = writeYaml("vault:\n  # masterKey: …\nserver:\n  port: 9000\n");
    expect(loadConfig({ file, env: {} }).server.port).toBe(9000);
  });
});
