import { createMemoryState } from "../store/state/memory-state.js";
import { runRateLimiterContract } from "./rate-limiter.contract.js";

runRateLimiterContract("memory", (now) => {
  const state = createMemoryState({ now });
  return { connect: () => state, dispose: () => state.close() };
});
