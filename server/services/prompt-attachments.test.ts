import { ViolationsSchema } from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { Scope } from "../../gen/ts/switchboard/v1/options_pb.js";
import type { Principal } from "../auth/principal.js";
import { attachmentGone, checkAttachments, type AttachmentDeps } from "./prompt-attachments.js";

const admin: Principal = {
  orgId: "org-alpha",
  teamId: "team",
  keyId: "key",
  keyName: "orgs/alpha/teams/ops/keys/admin",
  scopes: new Set([Scope.PLATFORM_ADMIN]),
  allowedRoutes: [],
  allowedModels: [],
  tags: {},
  expiresAt: null,
};

/** Only orgs/alpha and its team `search` exist; nothing is attached. */
const deps = {
  tenants: {
    getOrg: async (name: string) => (name === "alpha" ? { id: "org-alpha", name } : undefined),
    getTeam: async (org: string, team: string) => (org === "alpha" && team === "search" ? { id: "team-search" } : undefined),
  },
  keys: { getKey: async () => undefined },
  routes: { get: async () => undefined },
  prompts: { attachedTo: async () => [] },
} as unknown as AttachmentDeps;

const target = { orgId: "org-alpha", orgName: "alpha", verb: "summarize" };

/** The refusal's code, message, and the field paths and rules its Violations detail names. */
function described(e: unknown) {
  const err = ConnectError.from(e);
  const violations = err.findDetails(ViolationsSchema).flatMap((d) => d.violations);
  return {
    code: err.code,
    message: err.rawMessage,
    fields: violations.map((v) => v.field?.elements.map((el) => (el.subscript.case === "index" ? `${el.fieldName}[${el.subscript.value}]` : el.fieldName)).join(".")),
    rules: violations.map((v) => v.ruleId),
  };
}

const refusalOf = (attachments: string[]) => checkAttachments(deps, admin, target, attachments, "template.attachments").then(() => undefined, described);

describe("attachment refusals name the attachment in a Violations detail", () => {
  it("a malformed name, another org's resource, a missing one", async () => {
    expect(await refusalOf(["orgs/alpha", "nonsense"])).toMatchObject({ code: Code.InvalidArgument, fields: ["template.attachments[1]"], rules: ["attachments.form"] });
    expect(await refusalOf(["orgs/bravo/teams/search"])).toEqual({
      code: Code.InvalidArgument,
      message: "template.attachments[0]: a template of orgs/alpha can be attached only to that org's resources and to global routes",
      fields: ["template.attachments[0]"],
      rules: ["attachments.org"],
    });
    expect(await refusalOf(["orgs/alpha/teams/search", "orgs/alpha/teams/gone"])).toEqual({
      code: Code.InvalidArgument,
      message: "template.attachments[1]: orgs/alpha/teams/gone not found",
      fields: ["template.attachments[1]"],
      rules: ["attachments.exists"],
    });
    expect(await refusalOf(["orgs/alpha", "orgs/alpha/teams/search"])).toBeUndefined();
  });

  it("an attachment deleted before the write: the same refusal", () => {
    expect(described(attachmentGone({ kind: "gone", name: "orgs/alpha/teams/x" }, ["orgs/alpha", "orgs/alpha/teams/x"], "template.attachments"))).toEqual({
      code: Code.InvalidArgument,
      message: "template.attachments[1]: orgs/alpha/teams/x not found",
      fields: ["template.attachments[1]"],
      rules: ["attachments.exists"],
    });
  });
});
