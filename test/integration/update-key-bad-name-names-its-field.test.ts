/**
 * An UpdateKey whose `key.name` is not a key's resource name is refused `invalid_argument` naming
 * `key.name`, the field the caller set: UpdateKeyRequest has no `name` (the message said `name:`) —
 * in the message and in a `buf.validate.Violations` detail, as a schema rule's refusal names it.
 */
import { ViolationsSchema } from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clientsFor } from "../support/clients.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";

let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(async () => {
  await gw?.close();
});

describe("UpdateKey with a malformed key.name", () => {
  it("is InvalidArgument naming key.name", async () => {
    const err = await clientsFor(gw.url, gw.adminKey)
      .keys.updateKey({ key: { name: "orgs/system/keys/bootstrap", displayName: "x" }, updateMask: { paths: ["display_name"] } })
      .then(
        () => undefined,
        (e: unknown) => ConnectError.from(e),
      );
    expect(err?.code).toBe(Code.InvalidArgument);
    expect(err?.rawMessage).toMatch(/^key\.name: must be a resource name of the form orgs\/\{org\}\/teams\/\{team\}\/keys\/\{key\}$/);
    const violations = err?.findDetails(ViolationsSchema).flatMap((d) => d.violations) ?? [];
    expect(violations.map((v) => [v.field?.elements.map((e) => e.fieldName).join("."), v.ruleId])).toEqual([["key.name", "resource_name.form"]]);
  });
});
