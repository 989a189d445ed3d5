import { create, getOption, type DescMethod, type DescService } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, createRouterTransport, type Client } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { Health, HealthCheckResponse_ServingStatus } from "../../gen/ts/grpc/health/v1/health_pb.js";
import { required_scope, Scope } from "../../gen/ts/switchboard/v1/options_pb.js";
import { TenantService } from "../../gen/ts/switchboard/v1/tenant_service_pb.js";
import { UNAUTHENTICATED_MESSAGE, type Authenticator } from "../auth/authenticator.js";
import { ALL_SCOPES, scopeName } from "../auth/scopes.js";
import { SWITCHBOARD_SERVICES } from "../schema.js";
import { createAuthInterceptor } from "./auth.js";
import { kPrincipal } from "./context-keys.js";
import { testPrincipal } from "../../test/support/principal.js";

const principal = (scopes: Iterable<Scope>) => testPrincipal({ scopes: new Set(scopes) });

/** Secrets are the test's own labels: "scopes:<n>,<n>" holds those scopes; anything else is unknown. */
const authenticator: Pick<Authenticator, "authenticate"> = {
  authenticate(secret) {
    const match = /^scopes:([\d,]*)$/.exec(secret);
    if (match === null) return Promise.reject(new ConnectError(UNAUTHENTICATED_MESSAGE, Code.Unauthenticated));
    return Promise.resolve(principal(match[1]!.split(",").filter(Boolean).map(Number)));
  },
};

const transport = createRouterTransport(
  (router) => {
    router.service(Health, { check: () => ({ status: HealthCheckResponse_ServingStatus.SERVING }) });
    // GetOrg echoes the principal the interceptor stored, to show it reaches handlers.
    router.service(TenantService, {
      getOrg: (_req, ctx) => ({ org: { name: ctx.values.get(kPrincipal)?.keyName ?? "none" } }),
    });
    for (const service of SWITCHBOARD_SERVICES) if (service !== TenantService) router.service(service, {});
  },
  { router: { interceptors: [createAuthInterceptor({ authenticator }, { guarded: SWITCHBOARD_SERVICES })] } },
);

const bearer = (scopes: Iterable<Scope>) => ({ authorization: `Bearer scopes:${[...scopes].join(",")}` });

/** Calls any method with an empty request; the code it ends with, or "ok". */
async function call(service: DescService, method: DescMethod, headers: Record<string, string>): Promise<ConnectError | "ok"> {
  const client = createClient(service, transport) as unknown as Record<string, (req: unknown, opts: unknown) => unknown>;
  const invoke = client[method.localName]!;
  try {
    const result = invoke(create(method.input), { headers });
    if (method.methodKind === "server_streaming") {
      for await (const _ of result as AsyncIterable<unknown>) void _;
    } else {
      await result;
    }
    return "ok";
  } catch (err) {
    return ConnectError.from(err);
  }
}

const guarded = SWITCHBOARD_SERVICES.flatMap((service) => service.methods.map((method) => ({ service, method })));

describe("auth interceptor", () => {
  it("finds a required scope on every switchboard.v1 method", () => {
    const missing = guarded.filter(({ method }) => getOption(method, required_scope) === Scope.UNSPECIFIED);
    expect(missing.map(({ method }) => method.name)).toEqual([]);
    expect(guarded.length).toBeGreaterThan(60);
  });

  for (const { service, method } of guarded) {
    const required = getOption(method, required_scope);
    it(`${service.name}/${method.name} needs ${scopeName(required)}`, async () => {
      const anonymous = await call(service, method, {});
      expect(anonymous).toMatchObject({ code: Code.Unauthenticated, rawMessage: UNAUTHENTICATED_MESSAGE });
      const others = ALL_SCOPES.filter((scope) => scope !== required);
      const denied = await call(service, method, bearer(others));
      expect(denied).toMatchObject({ code: Code.PermissionDenied });
      expect((denied as ConnectError).rawMessage).toBe(`${service.typeName}/${method.name} requires scope ${scopeName(required)}`);
      const allowed = await call(service, method, bearer([required]));
      // Past the interceptor: the (empty) service answers.
      if (service === TenantService && method.name === "GetOrg") expect(allowed).toBe("ok");
      else expect(allowed).toMatchObject({ code: Code.Unimplemented });
    });
  }

  it("puts the principal in the context for the handler", async () => {
    const client = createClient(TenantService, transport);
    const res = await client.getOrg({ name: "orgs/acme" }, { headers: bearer([Scope.TENANTS_READ]) });
    expect(res.org?.name).toBe("orgs/acme/teams/web/keys/ci");
  });

  it("reads only a well-formed bearer header", async () => {
    const client: Client<typeof TenantService> = createClient(TenantService, transport);
    const codeWith = (authorization: string) =>
      client.getOrg({ name: "orgs/acme" }, { headers: { authorization } }).then(
        () => "ok",
        (e: unknown) => Code[ConnectError.from(e).code],
      );
    expect(await codeWith(`bearer scopes:${Scope.TENANTS_READ}`)).toBe("ok");
    expect(await codeWith(`Bearer   scopes:${Scope.TENANTS_READ}  `)).toBe("ok");
    expect(await codeWith(`Basic scopes:${Scope.TENANTS_READ}`)).toBe("Unauthenticated");
    expect(await codeWith(`Bearer scopes:${Scope.TENANTS_READ} extra`)).toBe("Unauthenticated");
    expect(await codeWith("Bearer")).toBe("Unauthenticated");
    expect(await codeWith("Bearer unknown-secret")).toBe("Unauthenticated");
  });

  it("leaves gRPC health (and every other non-switchboard service) public", async () => {
    const res = await createClient(Health, transport).check({});
    expect(res.status).toBe(HealthCheckResponse_ServingStatus.SERVING);
  });
});
