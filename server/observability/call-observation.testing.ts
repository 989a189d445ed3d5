import type { CallObservation } from "./observe-stage.js";

/** A finished chat call as the observe stage reports it to its sinks, on `route`, with `over` on top. */
export function testObservation(over: Partial<CallObservation> = {}, route = "known"): CallObservation {
  return {
    operation: "chat",
    stream: false,
    meta: { verb: "chat", route, requestId: "r", signal: new AbortController().signal, deadline: 0, tags: {}, cache: { mode: "default" }, caller: { orgId: "org_1", teamId: "team_1", keyId: "key_1" } },
    request: { model: "", messages: [] },
    startedAt: 0,
    durationMs: 10,
    provider: "openai",
    model: "gpt-4o-mini",
    attempts: [],
    costMicrosUsd: 0n,
    ...over,
  };
}
