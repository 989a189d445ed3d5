/**
 * A prompt template attached to an org, team or key that is deleted. Template attachments are
 * resource names, matched by name on every call, so an attachment that outlived its org would
 * govern the calls of whatever tenant is given the name next — another tenant's (or the
 * platform's) prompts on an org that never asked for them. DeleteOrg and DeleteTeam therefore
 * refuse (FailedPrecondition naming the templates) while a live template of another scope is
 * attached to the resource or anything under it, as they do for guardrail policies; once the
 * attachment is removed the delete goes, and the name's next tenant renders the built-in.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, expect, it } from "vitest";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { Verb } from "../../gen/ts/switchboard/v1/common_pb.js";
import { Scope } from "../../gen/ts/switchboard/v1/options_pb.js";
import { clientsFor, type KeyedClients } from "../support/clients.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";

let gw: TestGateway;
let platform: KeyedClients;

beforeAll(async () => {
  gw = await startTestGateway();
  platform = clientsFor(gw.url, gw.adminKey);
});
afterAll(async () => {
  await gw?.close();
});

const version = (marker: string) => ({
  messages: [
    { role: Role.SYSTEM, template: `${marker}: summarize.\n{{requirements}}` },
    { role: Role.USER, template: "{{text}}" },
  ],
});

/** Creates the org if need be, the team and an invoking key in it; that key's clients. */
async function tenant(org: string, team: string, keyId: string, newOrg = true): Promise<KeyedClients> {
  if (newOrg) await platform.tenants.createOrg({ orgId: org, org: {} });
  await platform.tenants.createTeam({ parent: `orgs/${org}`, teamId: team, team: {} });
  const { secret } = await platform.keys.createKey({ parent: `orgs/${org}/teams/${team}`, keyId, key: { scopes: [Scope.INVOKE] } });
  return clientsFor(gw.url, secret);
}

/** The template a Summarize call of `caller` rendered ("" for the built-in). */
const rendered = async (caller: KeyedClients) => (await caller.capability.summarize({ text: "Switchboard routes model calls." })).usage?.prompt?.name ?? "";

/** The code and message a call failed with, or "ok". */
async function refusal(call: Promise<unknown>): Promise<{ code: string; message: string }> {
  return call.then(
    () => ({ code: "ok", message: "" }),
    (err: unknown) => {
      const e = ConnectError.from(err);
      return { code: Code[e.code], message: e.rawMessage };
    },
  );
}

const detach = (name: string) =>
  platform.prompts.updatePromptTemplate({ template: { name, verb: Verb.SUMMARIZE, attachments: [] }, updateMask: { paths: ["attachments"] } });

it("DeleteOrg refuses while a global template is attached to the org; the org's next tenant is not governed by it", async () => {
  const first = await tenant("alpha", "web", "app");
  await platform.prompts.createPromptTemplate({ parent: "", promptId: "house", template: { verb: Verb.SUMMARIZE, attachments: ["orgs/alpha"] }, firstVersion: version("HOUSE") });
  // The org's own template goes with it and does not hold it back.
  await platform.prompts.createPromptTemplate({ parent: "orgs/alpha", promptId: "own", template: { verb: Verb.CHAT, attachments: ["orgs/alpha"] }, firstVersion: { messages: [{ role: Role.SYSTEM, template: "Be brief." }] } });
  expect(await rendered(first)).toBe("prompts/house");
  await platform.keys.revokeKey({ name: "orgs/alpha/teams/web/keys/app" });
  await platform.tenants.deleteTeam({ name: "orgs/alpha/teams/web" });

  const refused = await refusal(platform.tenants.deleteOrg({ name: "orgs/alpha" }));
  if (refused.code !== "ok") {
    expect(refused.code).toBe("FailedPrecondition");
    expect(refused.message).toContain("prompts/house");
    expect(refused.message).not.toContain("orgs/alpha/prompts/own");
    await detach("prompts/house");
    expect((await refusal(platform.tenants.deleteOrg({ name: "orgs/alpha" }))).code).toBe("ok");
  }

  // Another tenant is given the name.
  const next = await tenant("alpha", "web", "app");
  const listed = (await platform.prompts.getPromptTemplate({ name: "prompts/house" })).template!.attachments.includes("orgs/alpha");
  expect({ refused: refused.code, listed, governs: await rendered(next) }).toEqual({ refused: "FailedPrecondition", listed: false, governs: "" });
});

it("DeleteTeam refuses while a template is attached to the team or one of its keys, naming them", async () => {
  const first = await tenant("bravo", "web", "app");
  await platform.prompts.createPromptTemplate({ parent: "orgs/bravo", promptId: "team", template: { verb: Verb.SUMMARIZE, attachments: ["orgs/bravo/teams/web"] }, firstVersion: version("TEAM") });
  await platform.prompts.createPromptTemplate({ parent: "", promptId: "bravo-key", template: { verb: Verb.SUMMARIZE, attachments: ["orgs/bravo/teams/web/keys/app"] }, firstVersion: version("KEY") });
  expect(await rendered(first)).toBe("prompts/bravo-key");
  await platform.keys.revokeKey({ name: "orgs/bravo/teams/web/keys/app" });

  const refused = await refusal(platform.tenants.deleteTeam({ name: "orgs/bravo/teams/web" }));
  if (refused.code !== "ok") {
    expect(refused.code).toBe("FailedPrecondition");
    expect(refused.message).toMatch(/prompt templates prompts\/bravo-key, orgs\/bravo\/prompts\/team;/);
    await detach("orgs/bravo/prompts/team");
    expect((await refusal(platform.tenants.deleteTeam({ name: "orgs/bravo/teams/web" }))).code).toBe("FailedPrecondition");
    await platform.prompts.deletePromptTemplate({ name: "prompts/bravo-key" });
    expect((await refusal(platform.tenants.deleteTeam({ name: "orgs/bravo/teams/web" }))).code).toBe("ok");
  }

  const next = await tenant("bravo", "web", "app", false);
  const listed = (await platform.prompts.getPromptTemplate({ name: "orgs/bravo/prompts/team" })).template!.attachments.includes("orgs/bravo/teams/web");
  expect({ refused: refused.code, listed, governs: await rendered(next) }).toEqual({ refused: "FailedPrecondition", listed: false, governs: "" });
});
