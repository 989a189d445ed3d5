import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { BudgetExceededSchema } from "../../gen/ts/switchboard/v1/error_details_pb.js";
import type { AttemptRecord } from "../dispatch/attempt-record.js";
import { emptyUsage } from "../providers/model.js";
import { createMetrics } from "./metrics.js";
import { moves } from "../dispatch/attempt-record.js";
import { createMetricsSink } from "./metrics-sink.js";
import { testObservation } from "./call-observation.testing.js";
import type { CallObservation } from "./observe-stage.js";

const attempt = (targetIndex: number, outcome: AttemptRecord["outcome"], hedged = false): AttemptRecord => ({
  index: 0,
  targetIndex,
  provider: "openai",
  model: "gpt-4o-mini",
  outcome,
  latencyMs: 120,
  usage: { ...emptyUsage(), inputTokens: 10, outputTokens: outcome === "success" ? 5 : 0 },
  hedged,
});

const observation = (over: Partial<CallObservation>): CallObservation => testObservation(over);

describe("metrics sink", () => {
  it("counts retries and fallbacks the way Usage does (hedged twins are neither)", () => {
    expect(moves([attempt(0, "unavailable"), attempt(0, "unavailable"), attempt(1, "success"), attempt(2, "cancelled", true)])).toEqual({ retries: 1, fallbacks: 1 });
  });

  it("counts moves within a call: a semantic lookup's embedding attempts, reported first, are a call of their own", () => {
    const lookup = (targetIndex: number, outcome: AttemptRecord["outcome"]): AttemptRecord => ({ ...attempt(targetIndex, outcome), semanticLookup: true });
    // The lookup's retry counts; the chat's first attempt, on target 0 like the lookup's, is no retry, nor its target 0 after the lookup's 1 a fallback.
    expect(moves([lookup(0, "unavailable"), lookup(0, "success"), attempt(0, "success")])).toEqual({ retries: 1, fallbacks: 0 });
    expect(moves([lookup(1, "success"), attempt(0, "success")])).toEqual({ retries: 0, fallbacks: 0 });
  });

  it("labels only routes that resolve, never key ids; counts refusals by detail type and prices every attempt", async () => {
    const metrics = createMetrics({ processMetrics: false });
    const sink = createMetricsSink({ metrics, routes: { resolve: (alias) => (alias === "known" ? {} : undefined) }, cost: (_p, _m, u) => BigInt(u.inputTokens * 3) });
    sink.ended(observation({ attempts: [attempt(0, "rate_limited"), attempt(0, "success")], cacheStatus: "miss" }));
    sink.ended(observation({ meta: { ...observation({}).meta, route: "<script>typed by a caller</script>" }, error: new ConnectError("no such route", Code.NotFound) }));
    const budget = new ConnectError("budget exceeded", Code.ResourceExhausted, undefined, [{ desc: BudgetExceededSchema, value: create(BudgetExceededSchema, {}) }]);
    sink.ended(observation({ error: budget }));
    const text = await metrics.render();
    expect(text).toContain('switchboard_model_calls_total{verb="chat",route="known",code="ok"} 1');
    expect(text).toContain('switchboard_model_calls_total{verb="chat",route="unknown",code="not_found"} 1');
    expect(text).toContain('switchboard_rejections_total{org="org_1",detail="BudgetExceeded"} 1');
    expect(text).toContain('switchboard_retries_total{route="known"} 1');
    expect(text).toContain('switchboard_provider_attempts_total{provider="openai",model="gpt-4o-mini",outcome="rate_limited"} 1');
    expect(text).toContain('switchboard_cost_micros_usd_total{org="org_1",team="team_1",route="known",provider="openai",model="gpt-4o-mini"} 60');
    expect(text).toContain('switchboard_tokens_total{org="org_1",team="team_1",route="known",provider="openai",model="gpt-4o-mini",kind="input"} 20');
    expect(text).not.toContain("script");
    expect(text).not.toContain("key_1");
  });

  it("keeps several registries apart in one process", async () => {
    const a = createMetrics({ processMetrics: false });
    const b = createMetrics({ processMetrics: false });
    a.rpcEnded({ service: "s", method: "m", code: "ok", seconds: 0.1 });
    expect(await a.render()).toContain('switchboard_rpc_requests_total{service="s",method="m",code="ok"} 1');
    expect(await b.render()).not.toContain('service="s"');
  });
});
