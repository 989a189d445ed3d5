import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { KeySchema, KeyService } from "../../gen/ts/switchboard/v1/key_service_pb.js";
import { Scope } from "../../gen/ts/switchboard/v1/options_pb.js";
import { TenantService } from "../../gen/ts/switchboard/v1/tenant_service_pb.js";
import { UNAUTHENTICATED_MESSAGE, type Authenticator } from "../auth/authenticator.js";
import { generateSecret, parseSecret } from "../auth/key-format.js";
import { createAuthInterceptor } from "../interceptors/auth.js";
import { kPeer, kRequestId } from "../interceptors/context-keys.js";
import { SWITCHBOARD_SERVICES } from "../schema.js";
import { auditSnapshot, noteAudit } from "./audit-context.js";
import { createAuditInterceptor, isAuditedScope } from "./audit-interceptor.js";
import type { AuditRecord } from "./audit-log.js";
import { MASKED } from "./mask.js";
import { testPrincipal } from "../../test/support/principal.js";

const ADMIN = "scopes-admin";
const READER = "scopes-reader";

const principal = (scopes: Scope[]) => testPrincipal({ keyName: "orgs/acme/teams/ops/keys/admin", scopes: new Set(scopes) });

const authenticator: Pick<Authenticator, "authenticate"> = {
  async authenticate(secret) {
    if (secret === ADMIN) return principal([Scope.KEYS_READ, Scope.KEYS_WRITE, Scope.TENANTS_READ]);
    if (secret === READER) return principal([Scope.KEYS_READ, Scope.TENANTS_READ]);
    throw new ConnectError(UNAUTHENTICATED_MESSAGE, Code.Unauthenticated);
  },
};

function setup() {
  const now: AuditRecord[] = [];
  const later: AuditRecord[] = [];
  const transport = createRouterTransport(
    (router) => {
      router.service(KeyService, {
        async revokeKey(req, ctx) {
          const before = create(KeySchema, { name: req.name, displayName: "ci" });
          noteAudit(ctx, { resource: req.name, orgId: "org_1", before: auditSnapshot(KeySchema, before) });
          noteAudit(ctx, { after: auditSnapshot(KeySchema, { ...before, displayName: "ci (revoked)" }) });
          return { key: before };
        },
        async createKey(req) {
          if (req.keyId === "boom") throw new ConnectError("team not found", Code.NotFound);
          return { key: { name: `${req.parent}/keys/${req.keyId}` }, secret: generateSecret() };
        },
      });
      router.service(TenantService, { getOrg: () => ({ org: { name: "orgs/acme" } }) });
      for (const s of SWITCHBOARD_SERVICES) if (s !== KeyService && s !== TenantService) router.service(s, {});
    },
    {
      router: {
        interceptors: [
          // What the telemetry interceptor and the server adapter set in production.
          (next) => (req) => {
            req.contextValues.set(kRequestId, "req-1");
            req.contextValues.set(kPeer, "10.0.0.7");
            return next(req);
          },
          createAuditInterceptor({ audit: { append: async (r) => (now.push(r), undefined as never), appendLater: (r) => later.push(r) } }, { guarded: SWITCHBOARD_SERVICES }),
          createAuthInterceptor({ authenticator }, { guarded: SWITCHBOARD_SERVICES }),
        ],
      },
    },
  );
  const as = (secret: string) => ({ headers: { authorization: `Bearer ${secret}` } });
  return { keys: createClient(KeyService, transport), tenants: createClient(TenantService, transport), now, later, as };
}

describe("audit interceptor", () => {
  it("audits exactly the *_WRITE and PLATFORM_ADMIN methods", () => {
    expect(isAuditedScope(Scope.KEYS_WRITE)).toBe(true);
    expect(isAuditedScope(Scope.PLATFORM_ADMIN)).toBe(true);
    expect(isAuditedScope(Scope.KEYS_READ)).toBe(false);
    expect(isAuditedScope(Scope.INVOKE)).toBe(false);
    expect(isAuditedScope(Scope.AUDIT_READ)).toBe(false);
  });

  it("records a success with the before and after the handler noted, who, from where, which request", async () => {
    const t = setup();
    await t.keys.revokeKey({ name: "orgs/acme/teams/ops/keys/ci" }, t.as(ADMIN));
    expect(t.now).toEqual([
      {
        actor: "orgs/acme/teams/ops/keys/admin",
        actorOrg: "orgs/acme",
        actorOrgId: "org_1",
        action: "switchboard.v1.KeyService/RevokeKey",
        resource: "orgs/acme/teams/ops/keys/ci",
        before: { name: "orgs/acme/teams/ops/keys/ci", displayName: "ci" },
        after: { name: "orgs/acme/teams/ops/keys/ci", displayName: "ci (revoked)" },
        outcome: "success",
        code: "ok",
        peer: "10.0.0.7",
        requestId: "req-1",
        org: { id: "org_1" },
      },
    ]);
  });

  it("without a note, records the masked response and derives the resource and its org", async () => {
    const t = setup();
    const res = await t.keys.createKey({ parent: "orgs/acme/teams/ops", keyId: "k1", key: {} }, t.as(ADMIN));
    expect(t.now[0]).toMatchObject({ resource: "orgs/acme/teams/ops/keys/k1", org: { name: "acme" }, before: null, after: { key: { name: "orgs/acme/teams/ops/keys/k1" }, secret: MASKED } });
    expect(JSON.stringify(t.now)).not.toContain(res.secret);
  });

  it("records a failed mutation in the background with the masked request, and does not record reads", async () => {
    const t = setup();
    await expect(t.keys.createKey({ parent: "orgs/acme/teams/ops", keyId: "boom", key: {} }, t.as(ADMIN))).rejects.toThrow(/team not found/);
    await t.tenants.getOrg({ name: "orgs/acme" }, t.as(READER));
    expect(t.now).toEqual([]);
    expect(t.later).toHaveLength(1);
    expect(t.later[0]).toMatchObject({ outcome: "failure", code: "not_found", resource: "orgs/acme/teams/ops/keys/boom", after: { request: { parent: "orgs/acme/teams/ops", keyId: "boom" } } });
  });

  it("records a denied mutation in the background, attributed to the key that tried", async () => {
    const t = setup();
    await expect(t.keys.revokeKey({ name: "orgs/acme/teams/ops/keys/ci" }, t.as(READER))).rejects.toMatchObject({ code: Code.PermissionDenied });
    expect(t.now).toEqual([]);
    expect(t.later).toEqual([
      expect.objectContaining({ actor: "orgs/acme/teams/ops/keys/admin", outcome: "denied", code: "permission_denied", resource: "orgs/acme/teams/ops/keys/ci" }),
    ]);
  });

  it("records every authentication failure, of reads too, with only the display prefix of a well-formed key", async () => {
    const t = setup();
    const stranger = generateSecret();
    await expect(t.tenants.getOrg({ name: "orgs/acme" }, t.as(stranger))).rejects.toMatchObject({ code: Code.Unauthenticated });
    await expect(t.tenants.getOrg({ name: "orgs/acme" }, t.as("garbage"))).rejects.toMatchObject({ code: Code.Unauthenticated });
    await expect(t.tenants.getOrg({ name: "orgs/acme" }, {})).rejects.toMatchObject({ code: Code.Unauthenticated });
    expect(t.later).toHaveLength(3);
    expect(t.later[0]).toMatchObject({
      actor: "",
      actorOrgId: null,
      action: "switchboard.v1.TenantService/GetOrg",
      resource: "orgs/acme",
      outcome: "denied",
      code: "unauthenticated",
      after: { presentedKey: parseSecret(stranger)!.displayPrefix },
      peer: "10.0.0.7",
    });
    expect(t.later[1]!.after).toBeNull();
    expect(JSON.stringify(t.later)).not.toContain(stranger);
    expect(JSON.stringify(t.later)).not.toContain("garbage");
  });
});
