import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { issuesOf } from "./config-issues.testing.js";
import { loadConfig } from "./config.js";

function writeYaml(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), "sb-config-"));
  const file = join(dir, "switchboard.yaml");
  writeFileSync(file, text);
  return file;
}

// Sections were looked up with `shape[section]` / `optional[section]` on plain objects, so a
// top-level key named like an Object.prototype member was taken for a known section: a mapping
// under `constructor:` threw a TypeError (exit 1 and a stack trace, not the exit-2 config error),
// and `__proto__:` was dropped without a word by the `Object.assign` that copies the file.
describe("top-level keys named like Object.prototype members", () => {
  it.each(["constructor", "toString", "hasOwnProperty", "__proto__"])("%s: is an unknown key like any other", (key) => {
    const file = writeYaml(`${key}:\n  port: 1\n`);
    const issues = issuesOf(() => loadConfig({ file }));
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatch(new RegExp(`^${key}: unknown key "${key}"`));
  });
});
