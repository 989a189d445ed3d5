/**
 * P25: bad input to PromptService and to a verb's template pin must be refused with
 * the right code, not reach Postgres and come back as Internal.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuditOutcome } from "../../gen/ts/switchboard/v1/audit_service_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { Verb } from "../../gen/ts/switchboard/v1/common_pb.js";
import { clientsFor, type KeyedClients } from "../../test/support/clients.js";
import type { TestGateway } from "../../test/support/gateway.js";
import { startPostgresGateway } from "../../test/support/postgres-gateway.js";

let gw: TestGateway;
let platform: KeyedClients;

const version = (marker: string) => ({
  description: marker,
  messages: [
    { role: Role.SYSTEM, template: `${marker}: summarize in {{language}}.` },
    { role: Role.USER, template: "{{text}}" },
  ],
});
const codeOf = (call: Promise<unknown>) => call.then(() => undefined, (e: unknown) => ConnectError.from(e).code);

beforeAll(async () => {
  gw = await startPostgresGateway();
  platform = clientsFor(gw.url, gw.adminKey);
  await platform.prompts.createPromptTemplate({ parent: "", promptId: "house", template: { verb: Verb.SUMMARIZE }, firstVersion: version("V1") });
  await platform.prompts.createPromptVersion({ parent: "prompts/house", version: version("V2"), activate: true });
});
afterAll(async () => {
  await gw?.close();
});

describe("PromptService and template pins with out-of-range or unstorable input", () => {
  it("RenderPromptPreview of a version number beyond int4 is NotFound, not Internal", async () => {
    expect(Code[(await codeOf(platform.prompts.renderPromptPreview({ prompt: { name: "prompts/house", version: 3_000_000_000 }, variables: { text: "t", language: "en" } })))!]).toBe("NotFound");
  });

  it("a verb call pinning a version number beyond int4 is NotFound, not Internal", async () => {
    const code = await codeOf(platform.capability.summarize({ text: "hello", options: { prompt: { name: "prompts/house", version: 3_000_000_000 } } }));
    expect(Code[code!]).toBe("NotFound");
  });

  it("a version whose template text holds U+0000 is InvalidArgument, not Internal", async () => {
    const bad = { messages: [{ role: Role.SYSTEM, template: "be brief\u0000" }, { role: Role.USER, template: "{{text}}" }] };
    expect(Code[(await codeOf(platform.prompts.createPromptVersion({ parent: "prompts/house", version: bad })))!]).toBe("InvalidArgument");
  });

  it("pinning an old version renders it; activation is audited with before and after", async () => {
    const preview = await platform.prompts.renderPromptPreview({ prompt: { name: "prompts/house", version: 1 }, variables: { text: "{{language}} ${x}", language: "en" } });
    expect(preview.messages.map((m) => m.content[0]?.part.value)).toEqual(["V1: summarize in en.", "{{language}} ${x}"]);
    await platform.prompts.activatePromptVersion({ name: "prompts/house/versions/1" });
    await gw.server.audit.drain();
    const events = await platform.audit.listAuditEvents({ action: "switchboard.v1.PromptService/ActivatePromptVersion", outcome: AuditOutcome.SUCCESS });
    expect(events.events).toHaveLength(1);
    expect(events.events[0]).toMatchObject({ resource: "prompts/house/versions/1", before: { activeVersion: 2 }, after: { activeVersion: 1 } });
  });
});
