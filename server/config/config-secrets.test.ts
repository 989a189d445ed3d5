import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError } from "./config-error.js";
import { loadConfig } from "./config.js";

function writeYaml(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), "sb-config-secrets-"));
  const file = join(dir, "switchboard.yaml");
  writeFileSync(file, text);
  return file;
}

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error("expected a ConfigError");
}

// config.ts: "Config paths holding secrets: their values never appear in error messages"; README:
// the pepper and master keys are "never echoed". main.ts prints the ConfigError to stderr.
describe("config errors never echo secrets", () => {
  it("a YAML syntax error on a line holding a secret does not print that line", () => {
    // A rotation done by adding the new key under the old one: a duplicate key.
    const current = "Q1VSUkVOVE1BU1RFUktFWVNFQ1JFVDAwMDAwMDAwMDA=";
    const added = "TkVXTUFTVEVSS0VZU0VDUkVUMDAwMDAwMDAwMDAwMDA=";
    const file = writeYaml(`vault:\n  masterKey: ${current}\n  masterKey: ${added}\n`);
    const message = messageOf(() => loadConfig({ file }));
    expect(message).toMatch(/invalid YAML/);
    expect(message).toMatch(/line 3/); // still says where
    expect(message).not.toContain(current);
    expect(message).not.toContain(added);
  });

  it("a mis-indented line after database.url does not print the database password", () => {
    const file = writeYaml("database:\n  url: postgres://app:DBPASSWORD@db:5432/sb\n poolSize: 20\n");
    const message = messageOf(() => loadConfig({ file }));
    expect(message).toMatch(/invalid YAML/);
    expect(message).not.toContain("DBPASSWORD");
  });

  it("an OTLP endpoint with credentials and the wrong scheme is not echoed", () => {
    const message = messageOf(() => loadConfig({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: "grpc://tenant:OTLPPASSWORD@collector:4317" } }));
    expect(message).toMatch(/telemetry\.otlpEndpoint/);
    expect(message).toMatch(/OTEL_EXPORTER_OTLP_ENDPOINT/);
    expect(message).not.toContain("OTLPPASSWORD");
  });
});
