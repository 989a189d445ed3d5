import { Scope } from "../../gen/ts/switchboard/v1/options_pb.js";
import type { GuardrailPolicy } from "../../gen/ts/switchboard/v1/guardrail_service_pb.js";
import type { FakeProvider } from "../fakes/fake-types.js";
import { startOpenAIFake } from "../fakes/openai-fake.js";
import { startTestGateway, type TestGateway } from "./gateway.js";
import { moneyClients } from "./money.js";

/** A gateway in front of the OpenAI fake with one guarded org per entry (see {@link startGuardedOrgsGateway}). */
export interface GuardedOrgsGateway {
  gw: TestGateway;
  openai: FakeProvider;
  /** Each org's application key secret, by org id. */
  secrets: Record<string, string>;
  /** Stops the gateway, then the fake. */
  close(): Promise<void>;
}

/**
 * Starts the OpenAI fake and a gateway with the route `routeId` to its gpt-4o-mini (one attempt)
 * and, for each `org` of `orgs`, that org with team `app`, its key `app` (SCOPE_INVOKE and
 * SCOPE_GUARDRAILS_WRITE), and the policy `out` attached to the org holding the org's rules.
 */
export async function startGuardedOrgsGateway(routeId: string, orgs: Record<string, readonly unknown[]>): Promise<GuardedOrgsGateway> {
  const openai = await startOpenAIFake();
  let gw: TestGateway | undefined;
  const close = async () => {
    await gw?.close();
    await openai.close();
  };
  try {
    gw = await startTestGateway({ baseUrls: { openai: `${openai.url}/v1` }, credentials: new Map([["credentials/openai", "sk-test"]]) });
    const platform = moneyClients(gw.url, gw.adminKey);
    const secrets: Record<string, string> = {};
    for (const [org, rules] of Object.entries(orgs)) {
      await platform.tenants.createOrg({ orgId: org, org: {} });
      await platform.tenants.createTeam({ parent: `orgs/${org}`, teamId: "app", team: {} });
      const key = await platform.keys.createKey({ parent: `orgs/${org}/teams/app`, keyId: "app", key: { scopes: [Scope.INVOKE, Scope.GUARDRAILS_WRITE] } });
      secrets[org] = key.secret;
      const policy = { enabled: true, attachments: [`orgs/${org}`], rules } as unknown as GuardrailPolicy;
      await moneyClients(gw.url, key.secret).guardrails.createGuardrailPolicy({ parent: `orgs/${org}`, policyId: "out", policy });
    }
    await platform.routes.createRoute({ routeId, route: { targets: [{ provider: "openai", model: "gpt-4o-mini", credential: "credentials/openai" }], retry: { maxAttempts: 1 } } });
    await gw.models.resolver.refresh();
    return { gw, openai, secrets, close };
  } catch (err) {
    await close();
    throw err;
  }
}
