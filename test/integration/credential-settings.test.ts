/**
 * A credential's `settings` reach dispatch: `base_url` sends its calls to that endpoint (through
 * the egress policy), Azure's `api_version` goes on the URL, OpenAI's `organization` in its
 * header; and settings a provider does not take, or a base URL that is not a plain http(s) URL the
 * egress policy allows, are refused when written, naming the setting.
 */
import { ViolationsSchema } from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOpenAIFake } from "../fakes/openai-fake.js";
import type { FakeProvider } from "../fakes/fake-types.js";
import { clientsFor, type KeyedClients } from "../support/clients.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";

let operatorFake: FakeProvider;
let orgFake: FakeProvider;
let gw: TestGateway;
let admin: KeyedClients;

beforeAll(async () => {
  [operatorFake, orgFake] = await Promise.all([startOpenAIFake(), startOpenAIFake()]);
  gw = await startTestGateway({ baseUrls: { openai: `${operatorFake.url}/v1` } });
  admin = clientsFor(gw.url, gw.adminKey);
});
afterAll(async () => {
  await gw?.close();
  await Promise.all([operatorFake?.close(), orgFake?.close()]);
});

async function routeThrough(id: string, provider: string, model: string, settings: Record<string, string>): Promise<void> {
  await admin.credentials.createCredential({ credentialId: id, credential: { provider, settings }, value: `sk-${id}` });
  await admin.routes.createRoute({ routeId: id, route: { targets: [{ provider, model, credential: `credentials/${id}` }] } });
  await gw.models.resolver.refresh();
}
const summarize = (route: string) => admin.capability.summarize({ options: { route }, text: "Credentials may name their own endpoint." });

/** `Code field[rule]` of each violation of the refusal of `call`, or "ok". */
async function refusal(call: Promise<unknown>): Promise<string> {
  try {
    await call;
    return "ok";
  } catch (e) {
    const err = ConnectError.from(e);
    const violations = err.findDetails(ViolationsSchema).flatMap((d) => d.violations);
    const element = (el: NonNullable<(typeof violations)[number]["field"]>["elements"][number]) =>
      el.subscript.case === "stringKey" ? `${el.fieldName}["${el.subscript.value}"]` : el.subscript.case === undefined ? el.fieldName : `${el.fieldName}[${el.subscript.value}]`;
    const named = violations.map((v) => `${v.field?.elements.map(element).join(".")} [${v.ruleId}]`);
    return `${Code[err.code]} ${named.join(", ")}`;
  }
}

describe("credential settings", () => {
  it("sends a credential's calls to its base_url, not to the kind's configured endpoint, with its organization", async () => {
    await routeThrough("own-openai", "openai", "gpt-4o-mini", { base_url: `${orgFake.url}/v1`, organization: "org-own" });
    operatorFake.reset();
    orgFake.reset();
    await summarize("own-openai");
    expect(orgFake.requests()).toHaveLength(1);
    expect(orgFake.requests()[0]).toMatchObject({ path: "/v1/chat/completions", headers: { authorization: "Bearer sk-own-openai", "openai-organization": "org-own" } });
    expect(operatorFake.requests()).toHaveLength(0);
  });

  it("puts an Azure credential's api_version on the URL of its resource", async () => {
    await routeThrough("azure-eu", "azure", "gpt4o-eu", { base_url: orgFake.url, api_version: "2025-01-01-preview" });
    orgFake.reset();
    await summarize("azure-eu");
    expect(orgFake.requests()).toHaveLength(1);
    expect(orgFake.requests()[0]).toMatchObject({ path: "/openai/deployments/gpt4o-eu/chat/completions", search: "?api-version=2025-01-01-preview", headers: { "api-key": "sk-azure-eu" } });
  });

  it("sends an Azure target's deployment param in the URL, keeping its model for prices; refuses params the provider does not take", async () => {
    await admin.routes.createRoute({ routeId: "azure-deployed", route: { targets: [{ provider: "azure", model: "gpt-4o", credential: "credentials/azure-eu", params: { deployment: "gpt4o-eu-prod" } }] } });
    await gw.models.resolver.refresh();
    orgFake.reset();
    await summarize("azure-deployed");
    expect(orgFake.requests()[0]).toMatchObject({ path: "/openai/deployments/gpt4o-eu-prod/chat/completions", search: "?api-version=2025-01-01-preview" });

    const route = (provider: string, params: Record<string, string>) => refusal(admin.routes.createRoute({ routeId: "params", route: { targets: [{ provider, model: "m", credential: "credentials/azure-eu", params }] } }));
    expect(await route("openai", { deployment: "x" })).toBe(`InvalidArgument route.targets[0].params["deployment"] [route.target.params.known]`);
    expect(await route("azure", { region: "eu" })).toBe(`InvalidArgument route.targets[0].params["region"] [route.target.params.known]`);
  });

  it("a changed base_url takes effect at once", async () => {
    await routeThrough("moving", "openai", "gpt-4o-mini", { base_url: `${operatorFake.url}/v1` });
    await summarize("moving");
    await admin.credentials.updateCredential({ credential: { name: "credentials/moving", settings: { base_url: `${orgFake.url}/v1` } }, updateMask: { paths: ["settings"] } });
    operatorFake.reset();
    orgFake.reset();
    await summarize("moving");
    expect([operatorFake.requests().length, orgFake.requests().length]).toEqual([0, 1]);
  });

  it("refuses settings the provider does not take and base URLs that are not plain http(s) or that the egress policy refuses", async () => {
    const create = (id: string, provider: string, settings: Record<string, string>) => refusal(admin.credentials.createCredential({ credentialId: id, credential: { provider, settings }, value: "sk-x" }));
    const field = (key: string) => `credential.settings["${key}"]`;
    expect(await create("r1", "openai", { region: "eu" })).toBe(`InvalidArgument ${field("region")} [credential.settings.known]`);
    expect(await create("r2", "openai", { api_version: "2025-01-01" })).toBe(`InvalidArgument ${field("api_version")} [credential.settings.known]`);
    expect(await create("r3", "openai", { base_url: "ftp://models.example.com/v1" })).toBe(`InvalidArgument ${field("base_url")} [credential.settings.base_url]`);
    expect(await create("r4", "openai", { base_url: "models.example.com/v1" })).toBe(`InvalidArgument ${field("base_url")} [credential.settings.base_url]`);
    expect(await create("r5", "openai", { base_url: "https://user:pw@models.example.com/v1" })).toBe(`InvalidArgument ${field("base_url")} [credential.settings.base_url]`);
    expect(await create("r6", "openai", { base_url: "http://169.254.169.254/v1" })).toBe(`InvalidArgument ${field("base_url")} [url.egress]`);
    expect(await create("r7", "azure", { base_url: "http://metadata.google.internal", api_version: "2024-10-21" })).toBe(`InvalidArgument ${field("base_url")} [url.egress]`);
    expect(await create("r8", "azure", { base_url: "https://eu.openai.azure.com", api_version: "2024-10-21\r\nx: y" })).toBe(`InvalidArgument ${field("api_version")} [credential.settings.value]`);
    expect(await create("r9", "sandbox", { base_url: "https://models.example.com/v1" })).toBe(`InvalidArgument ${field("base_url")} [credential.settings.known]`);
    expect(await create("ok", "azure", { base_url: "https://eu.openai.azure.com", api_version: "2024-10-21" })).toBe("ok");

    const update = (settings: Record<string, string>) => refusal(admin.credentials.updateCredential({ credential: { name: "credentials/ok", settings }, updateMask: { paths: ["settings"] } }));
    expect(await update({ base_url: "http://[fe80::1]/" })).toBe(`InvalidArgument ${field("base_url")} [url.egress]`);
    expect(await update({ deployment: "x" })).toBe(`InvalidArgument ${field("deployment")} [credential.settings.known]`);
    expect((await admin.credentials.getCredential({ name: "credentials/ok" })).credential?.settings).toEqual({ base_url: "https://eu.openai.azure.com", api_version: "2024-10-21" });
  });
});
