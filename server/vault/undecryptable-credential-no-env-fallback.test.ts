import { randomBytes } from "node:crypto";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOpenAIFake } from "../../test/fakes/openai-fake.js";
import type { FakeProvider } from "../../test/fakes/fake-types.js";
import { clientsFor, outcome, type KeyedClients } from "../../test/support/clients.js";
import { startTestGateway, type TestGateway } from "../../test/support/gateway.js";

// README (Credential vault): "A row that does not decrypt is logged at error level by name and
// master key id, and the call fails without reaching the provider. [...] Names the vault lacks fall
// back to SWITCHBOARD_CREDENTIAL_<ID> environment variables." A vault that HAS the name but cannot
// decrypt it does not lack it: the call must fail, not go out with a different (env) key.
let openai: FakeProvider;
let gw: TestGateway;
let admin: KeyedClients;
const envValue = `sk-ENV-OLD-${randomBytes(12).toString("hex")}`;
const vaultValue = `sk-VAULT-NEW-${randomBytes(12).toString("hex")}`;

beforeAll(async () => {
  openai = await startOpenAIFake();
  gw = await startTestGateway({ baseUrls: { openai: `${openai.url}/v1` }, credentials: new Map([["credentials/openai", envValue]]) });
  admin = clientsFor(gw.url, gw.adminKey);
});
afterAll(async () => {
  await gw?.close();
  await openai?.close();
});

describe("a vault credential that does not decrypt", () => {
  it("fails the call without reaching the provider, even when an environment credential has the same name", async () => {
    await admin.credentials.createCredential({ credentialId: "openai", credential: { provider: "openai" }, value: vaultValue });
    await admin.routes.createRoute({ routeId: "ext", route: { targets: [{ provider: "openai", model: "gpt-4o-mini", credential: "credentials/openai" }] } });
    await gw.models.resolver.refresh();
    const summarize = () => admin.capability.summarize({ options: { route: "ext" }, text: "Switchboard keeps provider keys in a vault." });

    openai.reset();
    expect(await outcome(summarize())).toBe("ok");
    expect(openai.requests()[0]?.headers.authorization).toBe(`Bearer ${vaultValue}`);

    // The row's ciphertext is damaged (a bad restore, a tampered row): it no longer decrypts.
    await sql`update credentials set ciphertext = overlay(ciphertext placing '\\x00'::bytea from 1 for 1) || '\\x00'::bytea where name = 'openai'`.execute(gw.database.db);
    gw.vault.forget("credentials/openai");
    await expect(gw.vault.resolve("credentials/openai")).rejects.toThrow(/does not decrypt/);

    openai.reset();
    const result = await outcome(summarize());
    expect(gw.log.lines().some((l) => l.msg === "credential cannot be decrypted" && l.credential === "credentials/openai")).toBe(true);
    expect(openai.requests().map((r) => r.headers.authorization)).toEqual([]);
    expect(result).not.toBe("ok");
  });
});
