import { ViolationsSchema } from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { parseKeyName, parseOrgName, parseTeamName, parseTeamParent } from "./resource-names.js";

/** What `parse` refuses with: code, message, and the fields and rules its Violations detail names. */
function refusal(parse: () => unknown) {
  try {
    parse();
  } catch (e) {
    const err = ConnectError.from(e);
    const violations = err.findDetails(ViolationsSchema).flatMap((d) => d.violations);
    return { code: err.code, message: err.rawMessage, fields: violations.map((v) => v.field?.elements.map((el) => el.fieldName).join(".")), rules: violations.map((v) => v.ruleId) };
  }
  throw new Error("not refused");
}

describe("resource-name parsers", () => {
  it("refuse a malformed name as InvalidArgument with a Violations detail naming the field", () => {
    expect(refusal(() => parseKeyName("orgs/a/keys/b", "key.name"))).toEqual({
      code: Code.InvalidArgument,
      message: "key.name: must be a resource name of the form orgs/{org}/teams/{team}/keys/{key}",
      fields: ["key.name"],
      rules: ["resource_name.form"],
    });
    expect(refusal(() => parseOrgName("org/a", "parent")).fields).toEqual(["parent"]);
    expect(refusal(() => parseTeamName("orgs/a", "filter.teams")).fields).toEqual(["filter.teams"]);
    expect(refusal(() => parseTeamParent("orgs/a/teams/", "parent")).fields).toEqual(["parent"]);
  });

  it("return the segments of a well-formed name", () => {
    expect(parseKeyName("orgs/a/teams/b/keys/c", "name")).toEqual({ orgName: "a", teamName: "b", name: "c" });
    expect(parseTeamParent("orgs/a/teams/-", "parent")).toEqual({ orgName: "a" });
  });
});
