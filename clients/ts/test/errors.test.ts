import { create, toBinary } from "@bufbuild/protobuf";
import { DurationSchema, durationFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { ViolationsSchema } from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";
import { describe, expect, it } from "vitest";
import { BudgetExceededSchema, GuardrailViolationSchema, ProviderAttemptsSchema } from "../../../gen/ts/switchboard/v1/error_details_pb.js";
import { SwitchboardError } from "../src/errors.js";

/** A ConnectError as a client receives it: details as type name and bytes. */
function received(code: Code, details: Array<{ type: string; value: Uint8Array }>, metadata?: Record<string, string>): ConnectError {
  const err = new ConnectError("failed", code, metadata);
  err.details = details.map((d) => ({ ...d, debug: undefined }));
  return err;
}

describe("SwitchboardError", () => {
  it("decodes every typed detail and keeps code, message and metadata", () => {
    const err = SwitchboardError.fromError(
      received(
        Code.ResourceExhausted,
        [
          { type: BudgetExceededSchema.typeName, value: toBinary(BudgetExceededSchema, create(BudgetExceededSchema, { budget: "orgs/a/budgets/b", limitMicrosUsd: 5n })) },
          { type: GuardrailViolationSchema.typeName, value: toBinary(GuardrailViolationSchema, create(GuardrailViolationSchema, { rule: "pii" })) },
          { type: ProviderAttemptsSchema.typeName, value: toBinary(ProviderAttemptsSchema, create(ProviderAttemptsSchema, { route: "fast", requestId: "req-9" })) },
          { type: ViolationsSchema.typeName, value: toBinary(ViolationsSchema, create(ViolationsSchema, { violations: [{ message: "bad" }] })) },
        ],
        { "x-trace": "t" },
      ),
    );
    expect(err.code).toBe(Code.ResourceExhausted);
    expect(err.rawMessage).toBe("failed");
    expect(err.metadata.get("x-trace")).toBe("t");
    expect(err.budgetExceeded).toMatchObject({ budget: "orgs/a/budgets/b", limitMicrosUsd: 5n });
    expect(err.guardrailViolation?.rule).toBe("pii");
    expect(err.providerAttempts?.route).toBe("fast");
    expect(err.requestId).toBe("req-9");
    expect(err.violations?.violations[0]?.message).toBe("bad");
    expect(err.rateLimitExceeded).toBeUndefined();
    expect(err.capabilityMissing).toBeUndefined();
  });

  it("reads google.rpc.RetryInfo's delay", () => {
    const retryInfo = new Uint8Array([0x0a, ...lengthPrefixed(toBinary(DurationSchema, durationFromMs(1_500)))]);
    expect(SwitchboardError.fromError(received(Code.Unavailable, [{ type: "google.rpc.RetryInfo", value: retryInfo }])).retryDelayMs).toBe(1_500);
  });

  it("is a ConnectError, and only its own instances are SwitchboardErrors", () => {
    const err = SwitchboardError.fromError(new ConnectError("x", Code.NotFound));
    expect(err).toBeInstanceOf(ConnectError);
    expect(err).toBeInstanceOf(SwitchboardError);
    expect(new ConnectError("y")).not.toBeInstanceOf(SwitchboardError);
    expect(SwitchboardError.fromError(err)).toBe(err);
    expect(SwitchboardError.fromError(new Error("plain")).code).toBe(Code.Unknown);
  });
});

function lengthPrefixed(bytes: Uint8Array): number[] {
  return [bytes.length, ...bytes];
}
