import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { ViolationsSchema } from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";
import { Code, ConnectError, type UnaryRequest, type UnaryResponse } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { CreateKeyRequestSchema, KeyService, UpdateKeyRequestSchema } from "../../gen/ts/switchboard/v1/key_service_pb.js";
import { createStorableStringsInterceptor } from "./storable-strings.js";

/** Runs `message` through the interceptor guarding `services`; resolves the refusal's message, or "passed". */
async function through(message: MessageInitShape<typeof CreateKeyRequestSchema>, services = [KeyService]): Promise<string> {
  return (await refused(message, services))?.rawMessage ?? "passed";
}

/** The refusal of `message` (always InvalidArgument), or undefined when it passes. */
async function refused(message: MessageInitShape<typeof CreateKeyRequestSchema>, services = [KeyService]): Promise<ConnectError | undefined> {
  const req = { stream: false, service: KeyService, method: KeyService.method.createKey, message: create(CreateKeyRequestSchema, message) } as unknown as UnaryRequest;
  const next = async () => ({ stream: false, message: {} }) as unknown as UnaryResponse;
  try {
    await createStorableStringsInterceptor({ services })(next)(req);
    return undefined;
  } catch (err) {
    expect(ConnectError.from(err).code).toBe(Code.InvalidArgument);
    return ConnectError.from(err);
  }
}

/** The path elements (name and index or key) and rule of each violation in `message`'s refusal. */
async function violations(message: MessageInitShape<typeof CreateKeyRequestSchema>) {
  const err = await refused(message);
  return err?.findDetails(ViolationsSchema).flatMap((d) => d.violations.map((v) => ({ path: v.field?.elements.map((e) => [e.fieldName, e.subscript.value]), rule: v.ruleId })));
}

const refusal = (path: string) => `${path}: must be well-formed Unicode without U+0000 (NUL)`;

describe("storable strings interceptor", () => {
  it("names the first field, list item, map key or map value Postgres could not store", async () => {
    expect(await through({ parent: "orgs/a/teams/b", key: { displayName: "a\0b" } })).toBe(refusal("key.display_name"));
    expect(await through({ key: { allowedRoutes: ["fine", "lone \uDC00"] } })).toBe(refusal("key.allowed_routes[1]"));
    expect(await through({ key: { tags: { app: "x\0" } } })).toBe(refusal('key.tags["app"]'));
    expect(await through({ key: { tags: { "a\0b": "x" } } })).toBe(refusal('key.tags["a\uFFFDb"]'));
    expect(await through({ keyId: "\uD83D" })).toBe(refusal("key_id"));
  });

  it("names that field in a buf.validate.Violations detail too, as protovalidate's refusals do", async () => {
    expect(await violations({ key: { displayName: "a\0b" } })).toEqual([{ path: [["key", undefined], ["display_name", undefined]], rule: "string.storable" }]);
    expect(await violations({ key: { allowedRoutes: ["fine", "lone \uDC00"] } })).toEqual([{ path: [["key", undefined], ["allowed_routes", 1n]], rule: "string.storable" }]);
    expect(await violations({ key: { tags: { "a\0b": "x" } } })).toEqual([{ path: [["key", undefined], ["tags", "a\uFFFDb"]], rule: "string.storable" }]);
  });

  it("passes storable text, paired surrogates included, and services it does not guard", async () => {
    expect(await through({ parent: "orgs/a/teams/b", key: { displayName: "Checkout 😀 é", allowedRoutes: ["a", "b"], tags: { app: "checkout" } } })).toBe("passed");
    expect(await through({ key: { displayName: "a\0b" } }, [])).toBe("passed");
  });

  it("checks of an Update request's resource only its name and the fields the mask names (AIP-134: the rest is ignored)", async () => {
    const update = async (message: MessageInitShape<typeof UpdateKeyRequestSchema>) => {
      const req = { stream: false, service: KeyService, method: KeyService.method.updateKey, message: create(UpdateKeyRequestSchema, message) } as unknown as UnaryRequest;
      const next = async () => ({ stream: false, message: {} }) as unknown as UnaryResponse;
      // The interceptor throws before it returns a promise: the async wrapper turns that into a rejection.
      return (async () => createStorableStringsInterceptor({ services: [KeyService] })(next)(req))().then(
        () => "passed",
        (err: unknown) => ConnectError.from(err).rawMessage,
      );
    };
    const key = { name: "orgs/a/teams/b/keys/c", displayName: "ok", tags: { app: "x\0" } };
    expect(await update({ key, updateMask: { paths: ["display_name"] } })).toBe("passed");
    expect(await update({ key, updateMask: { paths: ["tags"] } })).toBe(refusal('key.tags["app"]'));
    expect(await update({ key, updateMask: { paths: ["*"] } })).toBe(refusal('key.tags["app"]'));
    expect(await update({ key: { ...key, name: "orgs/a\0" }, updateMask: { paths: ["display_name"] } })).toBe(refusal("key.name"));
  });
});
