import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { guardrailViolation } from "../guardrails/violation.js";
import { AccessDenial, accessDenialOf, accessDenied, refusedRoute } from "./access-denial.js";

describe("accessDenialOf", () => {
  it("finds the access decision behind an accessDenied error, and nothing behind other PermissionDenieds", () => {
    const denial = new AccessDenial("route", refusedRoute("smart"));
    const err = accessDenied('the calling key may not use route "smart"', denial);
    expect(err.code).toBe(Code.PermissionDenied);
    expect(accessDenialOf(err)).toBe(denial);
    expect(accessDenialOf(err)?.refused).toEqual({ route: "smart" });
    // The same message and code without the marker: not an access decision.
    expect(accessDenialOf(new ConnectError(err.rawMessage, Code.PermissionDenied))).toBeUndefined();
    expect(accessDenialOf(new ConnectError("x", Code.InvalidArgument, undefined, undefined, denial))).toBeUndefined();
    expect(accessDenialOf(denial)).toBeUndefined();
    const guardrail = guardrailViolation({ policy: "p", rule: "r", stage: "input", field: "messages[0]", category: "deny_list" });
    expect(guardrail.code).toBe(Code.PermissionDenied);
    expect(accessDenialOf(guardrail)).toBeUndefined();
  });
});
