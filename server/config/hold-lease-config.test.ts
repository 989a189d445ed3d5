import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError } from "./config-error.js";
import { issuesOf } from "./config-issues.testing.js";
import { loadConfig } from "./config.js";

describe("budgets.hold* (budget-hold recovery timing)", () => {
  it("defaults to the code's timings: 15 s lease refreshed every 4 s, swept every 5 s", () => {
    expect(loadConfig().budgets).toMatchObject({ holdLeaseTtlMs: 15_000, holdLeaseRefreshMs: 4_000, holdSweepIntervalMs: 5_000 });
  });

  it("reads the file and lets the environment override it", () => {
    const dir = mkdtempSync(join(tmpdir(), "sb-hold-"));
    const file = join(dir, "switchboard.yaml");
    writeFileSync(file, "budgets:\n  holdLeaseTtlMs: 30000\n  holdLeaseRefreshMs: 5000\n  holdSweepIntervalMs: 2000\n");
    expect(loadConfig({ file }).budgets).toMatchObject({ holdLeaseTtlMs: 30_000, holdLeaseRefreshMs: 5_000, holdSweepIntervalMs: 2_000 });
    const env = { SWITCHBOARD_HOLD_LEASE_TTL_MS: "6000", SWITCHBOARD_HOLD_LEASE_REFRESH_MS: "1000", SWITCHBOARD_HOLD_SWEEP_INTERVAL_MS: "750" };
    expect(loadConfig({ file, env }).budgets).toMatchObject({ holdLeaseTtlMs: 6_000, holdLeaseRefreshMs: 1_000, holdSweepIntervalMs: 750 });
  });

  it("refuses a refresh that is not under half the TTL, naming the path and how to fix it", () => {
    const issues = issuesOf(() => loadConfig({ env: { SWITCHBOARD_HOLD_LEASE_TTL_MS: "8000" } }));
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatch(/^budgets\.holdLeaseRefreshMs: must be under half of budgets\.holdLeaseTtlMs \(8000\), got 4000/);
    expect(issues[0]).toContain("SWITCHBOARD_HOLD_LEASE_REFRESH_MS");
    // Exactly half is refused too; just under is accepted.
    expect(issuesOf(() => loadConfig({ env: { SWITCHBOARD_HOLD_LEASE_TTL_MS: "8000", SWITCHBOARD_HOLD_LEASE_REFRESH_MS: "4000" } }))).toHaveLength(1);
    expect(loadConfig({ env: { SWITCHBOARD_HOLD_LEASE_TTL_MS: "8000", SWITCHBOARD_HOLD_LEASE_REFRESH_MS: "3999" } }).budgets.holdLeaseRefreshMs).toBe(3_999);
  });

  it("reports an out-of-range value once, on its own path, without the cross-field rule piling on", () => {
    expect(issuesOf(() => loadConfig({ env: { SWITCHBOARD_HOLD_LEASE_TTL_MS: "100" } }))).toEqual([
      'budgets.holdLeaseTtlMs: must be an integer from 500 to 3600000, got "100" (from SWITCHBOARD_HOLD_LEASE_TTL_MS)',
    ]);
    expect(issuesOf(() => loadConfig({ env: { SWITCHBOARD_HOLD_SWEEP_INTERVAL_MS: "0" } }))[0]).toMatch(/^budgets\.holdSweepIntervalMs: must be an integer from 50/);
  });
});
