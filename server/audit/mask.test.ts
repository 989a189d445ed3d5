import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { BudgetSchema } from "../../gen/ts/switchboard/v1/budget_service_pb.js";
import { CreateCredentialRequestSchema, UpdateCredentialRequestSchema } from "../../gen/ts/switchboard/v1/credential_service_pb.js";
import { GuardrailPolicySchema } from "../../gen/ts/switchboard/v1/guardrail_service_pb.js";
import { CreateKeyResponseSchema } from "../../gen/ts/switchboard/v1/key_service_pb.js";
import { generateSecret } from "../auth/key-format.js";
import { MASKED, maskedJson, scrubJson } from "./mask.js";

describe("audit masking", () => {
  it("masks every (switchboard.v1.sensitive) field, at the top and nested", () => {
    const secret = generateSecret();
    const created = maskedJson(CreateKeyResponseSchema, create(CreateKeyResponseSchema, { key: { name: "orgs/a/teams/b/keys/c", displayName: "ci" }, secret }));
    expect(created).toEqual({ key: { name: "orgs/a/teams/b/keys/c", displayName: "ci" }, secret: MASKED });
    const value = "plain-provider-value-no-pattern";
    const request = maskedJson(
      CreateCredentialRequestSchema,
      create(CreateCredentialRequestSchema, { parent: "orgs/a", credentialId: "openai", credential: { provider: "openai" }, value }),
    );
    expect(request).toMatchObject({ parent: "orgs/a", credentialId: "openai", value: MASKED });
    expect(JSON.stringify(request)).not.toContain(value);
    // An unset sensitive field stays absent: a mask says a value was there.
    expect(maskedJson(UpdateCredentialRequestSchema, create(UpdateCredentialRequestSchema, { credential: { name: "credentials/x" } }))).toEqual({
      credential: { name: "credentials/x" },
    });
  });

  it("masks a budget's alert webhook URL, which may carry a token", () => {
    const url = "https://alerts:hookpass@hooks.example/budget?token=abc123";
    const budget = maskedJson(BudgetSchema, create(BudgetSchema, { name: "orgs/a/budgets/b", limitMicrosUsd: 5n, alertWebhookUrl: url }));
    expect(budget).toMatchObject({ name: "orgs/a/budgets/b", alertWebhookUrl: MASKED });
    expect(JSON.stringify(budget)).not.toContain("hookpass");
  });

  it("masks an external guardrail's URL, which may carry credentials or a token", () => {
    const url = "https://guard:rulepass@guard.example/check?token=abc123";
    const policy = maskedJson(GuardrailPolicySchema, create(GuardrailPolicySchema, { rules: [{ id: "ext", check: { case: "external", value: { url } } }] }));
    expect(JSON.stringify(policy)).toContain(MASKED);
    expect(JSON.stringify(policy)).not.toContain("rulepass");
    expect(JSON.stringify(policy)).not.toContain("abc123");
  });

  it("does not change the message it masks", () => {
    const message = create(CreateKeyResponseSchema, { secret: "s" });
    maskedJson(CreateKeyResponseSchema, message);
    expect(message.secret).toBe("s");
  });

  it("scrubs secret-looking values wherever they are, and what jsonb cannot store", () => {
    const key = generateSecret();
    const scrubbed = scrubJson({ displayName: `my key is ${key}!`, [`k-${key}`]: ["sk-proj-abcdefghijklmnopqrstuvwxyz", "AIza" + "x".repeat(35)], text: "a\u0000b\ud800c" });
    expect(JSON.stringify(scrubbed)).not.toContain(key);
    expect(scrubbed).toEqual({ displayName: `my key is ${MASKED}!`, [`k-${MASKED}`]: [MASKED, MASKED], text: "a\uFFFDb\uFFFDc" });
  });
});
