import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { CredentialRecord } from "../store/credential-store.js";
import { createLogCapture } from "../../test/support/log-capture.js";
import { bindingOf, createCredentialResolver } from "./credential-resolver.js";
import { seal } from "./envelope.js";
import { createKeyring, masterKey } from "./master-key.js";

const keyring = createKeyring(masterKey(randomBytes(32)));
const VALUE = "sk-CANARY-resolver-0123456789";

function record(value: string, over: Partial<CredentialRecord> = {}): CredentialRecord {
  const base: CredentialRecord = {
    id: "cred_1",
    orgId: null,
    orgName: null,
    name: "openai",
    provider: "openai",
    displayName: "",
    settings: {},
    fingerprint: "f",
    lastFour: "",
    version: 1,
    seal: { masterKeyId: "", wrappedKey: Buffer.alloc(0), keyNonce: Buffer.alloc(0), ciphertext: Buffer.alloc(0), valueNonce: Buffer.alloc(0) },
    createdAt: new Date(0),
    updatedAt: new Date(0),
    ...over,
  };
  return { ...base, seal: seal(value, bindingOf(base), keyring) };
}

function setup() {
  let now = 1_000;
  let rows: Record<string, CredentialRecord | undefined> = { openai: record(VALUE) };
  let down = false;
  let reads = 0;
  const log = createLogCapture();
  const resolver = createCredentialResolver(
    {
      credentials: {
        find: async (_org, name) => {
          reads++;
          const seen = rows;
          await new Promise((r) => setTimeout(r, 1));
          if (down) throw new Error("connection refused");
          return seen[name];
        },
      },
      keyring,
      logger: log.logger,
      clock: { now: () => now },
    },
    { cacheTtlMs: 30_000, maxStaleMs: 300_000 },
  );
  return {
    resolver,
    log,
    reads: () => reads,
    advance: (ms: number) => (now += ms),
    setRows: (next: typeof rows) => (rows = next),
    setDown: (d: boolean) => (down = d),
  };
}

describe("credential resolver", () => {
  it("reads a credential's settings with its value, in the same cached read, until it is forgotten", async () => {
    const t = setup();
    t.setRows({ openai: record(VALUE, { settings: { base_url: "https://eu.example.test/v1" } }) });
    expect(await t.resolver.resolveCredential("credentials/openai")).toEqual({ value: VALUE, settings: { base_url: "https://eu.example.test/v1" } });
    expect(await t.resolver.resolve("credentials/openai")).toBe(VALUE);
    expect(t.reads()).toBe(1);
    t.setRows({ openai: record(VALUE, { settings: { base_url: "https://us.example.test/v1" } }) });
    t.resolver.forget("credentials/openai");
    expect((await t.resolver.resolveCredential("credentials/openai"))?.settings).toEqual({ base_url: "https://us.example.test/v1" });
  });

  it("decrypts once per TTL, sharing one read among concurrent callers", async () => {
    const t = setup();
    const values = await Promise.all(Array.from({ length: 10 }, () => t.resolver.resolve("credentials/openai")));
    expect(new Set(values)).toEqual(new Set([VALUE]));
    expect(t.reads()).toBe(1);
    t.advance(29_000);
    await t.resolver.resolve("credentials/openai");
    expect(t.reads()).toBe(1);
    t.advance(2_000);
    await t.resolver.resolve("credentials/openai");
    expect(t.reads()).toBe(2);
  });

  it("caches absence too, and forget makes a change visible at once", async () => {
    const t = setup();
    expect(await t.resolver.resolve("credentials/anthropic")).toBeUndefined();
    expect(await t.resolver.resolve("credentials/anthropic")).toBeUndefined();
    expect(t.reads()).toBe(1);
    t.setRows({ openai: record(VALUE), anthropic: record("sk-ant-new-value-0000", { id: "cred_2", name: "anthropic" }) });
    expect(await t.resolver.resolve("credentials/anthropic")).toBeUndefined();
    t.resolver.forget("credentials/anthropic");
    expect(await t.resolver.resolve("credentials/anthropic")).toBe("sk-ant-new-value-0000");
  });

  it("reads a value again after the clock stepped back, rather than trusting it for the step on top of the TTL", async () => {
    const t = setup();
    expect(await t.resolver.resolve("credentials/openai")).toBe(VALUE);
    t.setRows({ openai: record("sk-CANARY-rotated-0123456789") }); // changed on another replica
    t.advance(-60_000); // NTP steps the clock back a minute: the entry now reads as read in the future
    expect(await t.resolver.resolve("credentials/openai")).toBe("sk-CANARY-rotated-0123456789");
    expect(t.reads()).toBe(2);
  });

  it("a read that started before a forget does not put the old value back", async () => {
    const t = setup();
    const pending = t.resolver.resolve("credentials/openai");
    t.resolver.forget("credentials/openai");
    t.setRows({ openai: record("sk-replaced-value-000000") });
    expect(await pending).toBe(VALUE);
    expect(await t.resolver.resolve("credentials/openai")).toBe("sk-replaced-value-000000");
  });

  it("serves a recently read value through a database outage, then fails", async () => {
    const t = setup();
    await t.resolver.resolve("credentials/openai");
    t.setDown(true);
    t.advance(60_000);
    expect(await t.resolver.resolve("credentials/openai")).toBe(VALUE);
    t.advance(300_000);
    await expect(t.resolver.resolve("credentials/openai")).rejects.toThrow("connection refused");
    await expect(t.resolver.resolve("credentials/never-read")).rejects.toThrow("connection refused");
  });

  it("logs a row that does not decrypt loudly, by name and key id, never the value", async () => {
    const t = setup();
    const good = record(VALUE);
    t.setRows({ openai: { ...good, id: "cred_other" } });
    await expect(t.resolver.resolve("credentials/openai")).rejects.toThrow(/does not decrypt/);
    const line = t.log.lines().find((l) => l.msg === "credential cannot be decrypted");
    expect(line).toMatchObject({ level: "error", credential: "credentials/openai", masterKeyId: keyring.current.id });
    expect(t.log.text()).not.toContain(VALUE);
  });

  it("answers undefined for a name that is not a credential name", async () => {
    const t = setup();
    expect(await t.resolver.resolve("openai")).toBeUndefined();
    expect(t.reads()).toBe(0);
  });
});
