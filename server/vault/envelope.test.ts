import { randomBytes } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { open, rewrap, seal, VaultError, type Binding, type Sealed } from "./envelope.js";
import { createKeyring, masterKey } from "./master-key.js";

const k1 = masterKey(randomBytes(32));
const k2 = masterKey(randomBytes(32));
const binding: Binding = { credentialId: "cred_1", orgId: "org_a", resourceName: "orgs/a/credentials/openai", version: 1 };
const VALUE = "sk-live-CANARY-0123456789abcdef";

/** Whether `open` refuses with a VaultError whose message holds no part of the value. */
function refuses(sealed: Sealed, b: Binding, keyring = createKeyring(k1)): boolean {
  try {
    open(sealed, b, keyring);
    return false;
  } catch (err) {
    expect(err).toBeInstanceOf(VaultError);
    expect((err as Error).message).not.toContain(VALUE);
    return true;
  }
}

describe("envelope encryption", () => {
  it("round-trips any value, and the stored parts hold no trace of it", () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 300, unit: "grapheme" }), (value) => {
        const sealed = seal(value, binding, createKeyring(k1));
        expect(open(sealed, binding, createKeyring(k1))).toBe(value);
        expect(sealed.masterKeyId).toBe(k1.id);
        expect(sealed.keyNonce).toHaveLength(12);
        expect(sealed.valueNonce).toHaveLength(12);
        expect(sealed.wrappedKey).toHaveLength(48);
        expect(sealed.ciphertext).toHaveLength(Buffer.byteLength(value) + 16);
      }),
    );
    const sealed = seal(VALUE, binding, createKeyring(k1));
    for (const part of [sealed.ciphertext, sealed.wrappedKey]) expect(part.toString("latin1")).not.toContain("CANARY");
  });

  it("binds the row: another id, org, name or version does not decrypt", () => {
    const sealed = seal(VALUE, binding, createKeyring(k1));
    for (const other of [
      { ...binding, credentialId: "cred_2" },
      { ...binding, orgId: "org_b" },
      { ...binding, orgId: null },
      { ...binding, resourceName: "orgs/a/credentials/anthropic" },
      { ...binding, version: 2 },
    ]) {
      expect(refuses(sealed, other), JSON.stringify(other)).toBe(true);
    }
  });

  it("does not decrypt a value whose ciphertext or wrapped key came from another row", () => {
    const keyring = createKeyring(k1);
    const a = seal(VALUE, binding, keyring);
    const otherBinding = { ...binding, credentialId: "cred_2", resourceName: "orgs/a/credentials/other" };
    const b = seal("sk-other-value-000000000000", otherBinding, keyring);
    expect(refuses({ ...b, ciphertext: a.ciphertext, valueNonce: a.valueNonce }, otherBinding)).toBe(true);
    expect(refuses({ ...a, wrappedKey: b.wrappedKey, keyNonce: b.keyNonce }, binding)).toBe(true);
    expect(refuses({ ...a, masterKeyId: b.masterKeyId, wrappedKey: b.wrappedKey, keyNonce: b.keyNonce, ciphertext: b.ciphertext, valueNonce: b.valueNonce }, binding)).toBe(true);
  });

  it("fails with a wrong master key, even one claiming the right id, and without the key", () => {
    const sealed = seal(VALUE, binding, createKeyring(k1));
    const impostor = masterKey(randomBytes(32), k1.id);
    expect(refuses(sealed, binding, createKeyring(impostor))).toBe(true);
    expect(refuses(sealed, binding, createKeyring(k2))).toBe(true);
    expect(() => open(sealed, binding, createKeyring(k2))).toThrow(/wrapped by master key mk-[0-9a-f]{12}, which this replica does not hold/);
  });

  it("fails on any flipped bit", () => {
    const keyring = createKeyring(k1);
    const sealed = seal(VALUE, binding, keyring);
    for (const part of ["ciphertext", "valueNonce", "wrappedKey", "keyNonce"] as const) {
      const copy = Buffer.from(sealed[part]);
      copy[copy.length - 1]! ^= 1;
      expect(refuses({ ...sealed, [part]: copy }, binding), part).toBe(true);
    }
  });

  it("re-wraps with the current key without touching the value's ciphertext; the old key is then not needed", () => {
    const sealed = seal(VALUE, binding, createKeyring(k1));
    const rotating = createKeyring(k2, k1);
    expect(open(sealed, binding, rotating)).toBe(VALUE);
    const rewrapped = rewrap(sealed, binding, rotating);
    expect(rewrapped.masterKeyId).toBe(k2.id);
    expect(rewrapped.ciphertext.equals(sealed.ciphertext)).toBe(true);
    expect(rewrapped.valueNonce.equals(sealed.valueNonce)).toBe(true);
    expect(rewrapped.keyNonce.equals(sealed.keyNonce)).toBe(false);
    expect(open(rewrapped, binding, createKeyring(k2))).toBe(VALUE);
    expect(refuses(rewrapped, binding, createKeyring(k1))).toBe(true);
    expect(rewrap(rewrapped, binding, rotating)).toBe(rewrapped);
  });

  it("never repeats a nonce (50 000 nonces from 25 000 seals)", () => {
    const keyring = createKeyring(k1);
    const nonces = new Set<string>();
    const count = 25_000;
    for (let i = 0; i < count; i++) {
      const sealed = seal("v", binding, keyring);
      nonces.add(sealed.valueNonce.toString("hex"));
      nonces.add(sealed.keyNonce.toString("hex"));
    }
    expect(nonces.size).toBe(2 * count);
  });
});
