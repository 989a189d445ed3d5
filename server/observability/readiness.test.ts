import { describe, expect, it } from "vitest";
import { createHealthStatus, ServingStatus } from "../services/health.js";
import { createReadiness, readinessService, type DependencyProbe } from "./readiness.js";

/** A probe whose next answers a test scripts: true healthy, false degraded, "hang" never answers. */
function scripted(name: string, answers: Array<boolean | "hang">): DependencyProbe {
  return {
    name,
    check: () => {
      const next = answers.shift() ?? true;
      if (next === "hang") return new Promise(() => {});
      return next ? Promise.resolve(undefined) : Promise.reject(new Error(`${name} refused the connection to redis://user:secret@host`));
    },
  };
}

describe("readiness", () => {
  it("takes the first verdict at once, then changes only after `fall` failures or `rise` successes", async () => {
    const health = createHealthStatus();
    const answers = [false, true, false, true, true, false, false, false];
    const readiness = createReadiness({ health, probes: [scripted("state", answers)] }, { fall: 3, rise: 2 });
    const status = () => health.get(readinessService("state"));
    const seen: Array<ServingStatus | undefined> = [];
    for (let i = 0; i < 8; i++) {
      await readiness.probeNow();
      seen.push(status());
    }
    const { SERVING: S, NOT_SERVING: N } = ServingStatus;
    // down at once; one success is not enough; two are; then three failures to go down again.
    expect(seen).toEqual([N, N, N, N, S, S, S, N]);
    expect(readiness.report()).toMatchObject({ status: "degraded", dependencies: { state: { status: "down" } } });
    expect(readiness.report().dependencies.state!.reason).not.toContain("secret");
    // The whole server keeps serving while degraded.
    expect(health.get("")).toBe(S);
  });

  it("counts a check that does not answer in time as a failure", async () => {
    const health = createHealthStatus();
    const readiness = createReadiness({ health, probes: [scripted("postgres", ["hang"])] }, { timeoutMs: 20 });
    await readiness.probeNow();
    expect(readiness.report().dependencies.postgres).toMatchObject({ status: "down", reason: "no answer within 20 ms" });
  });

  it("reports draining once the server shuts down", async () => {
    const health = createHealthStatus();
    const readiness = createReadiness({ health, probes: [scripted("state", [true])] });
    await readiness.probeNow();
    expect(readiness.report().status).toBe("ready");
    health.shutdown();
    expect(readiness.report().status).toBe("draining");
  });
});
