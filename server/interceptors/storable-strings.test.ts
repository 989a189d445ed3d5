import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError, type UnaryRequest, type UnaryResponse } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { CreateKeyRequestSchema, KeyService } from "../../gen/ts/switchboard/v1/key_service_pb.js";
import { createStorableStringsInterceptor } from "./storable-strings.js";

/** Runs `message` through the interceptor guarding `services`; resolves the refusal's message, or "passed". */
async function through(message: MessageInitShape<typeof CreateKeyRequestSchema>, services = [KeyService]): Promise<string> {
  const req = { stream: false, service: KeyService, method: KeyService.method.createKey, message: create(CreateKeyRequestSchema, message) } as unknown as UnaryRequest;
  const next = async () => ({ stream: false, message: {} }) as unknown as UnaryResponse;
  try {
    await createStorableStringsInterceptor({ services })(next)(req);
    return "passed";
  } catch (err) {
    expect(ConnectError.from(err).code).toBe(Code.InvalidArgument);
    return ConnectError.from(err).rawMessage;
  }
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

  it("passes storable text, paired surrogates included, and services it does not guard", async () => {
    expect(await through({ parent: "orgs/a/teams/b", key: { displayName: "Checkout 😀 é", allowedRoutes: ["a", "b"], tags: { app: "checkout" } } })).toBe("passed");
    expect(await through({ key: { displayName: "a\0b" } }, [])).toBe("passed");
  });
});
