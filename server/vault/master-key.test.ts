import { randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { resolveEmbeddedMasterKey, resolveKeyring } from "./master-key-file.js";
import { createKeyring, masterKey, masterKeyId, parseMasterKey } from "./master-key.js";

describe("master keys", () => {
  it("parses base64 and base64url of 32 bytes", () => {
    const key = randomBytes(32);
    for (const text of [key.toString("base64"), key.toString("base64url"), ` ${key.toString("base64")}\n`]) {
      const parsed = parseMasterKey(text);
      expect("key" in parsed && parsed.key.equals(key)).toBe(true);
    }
  });

  it("refuses other lengths, non-base64 and weak keys, without quoting them", () => {
    expect(parseMasterKey(randomBytes(31).toString("base64"))).toEqual({ error: "decodes to 31 bytes, not 32" });
    expect(parseMasterKey("%%%")).toEqual({ error: "is not base64" });
    for (const weak of [Buffer.alloc(32), Buffer.alloc(32, 0x41), Buffer.from("abababababababababababababababab")]) {
      const parsed = parseMasterKey(weak.toString("base64"));
      expect("error" in parsed && parsed.error).toMatch(/weak key/);
    }
  });

  it("derives a stable id from the key, different for different keys", () => {
    const key = randomBytes(32);
    expect(masterKeyId(key)).toMatch(/^mk-[0-9a-f]{12}$/);
    expect(masterKeyId(Buffer.from(key))).toBe(masterKeyId(key));
    expect(masterKeyId(randomBytes(32))).not.toBe(masterKeyId(key));
  });

  it("keeps the key out of anything printed", () => {
    const key = randomBytes(32);
    const printed = JSON.stringify(masterKey(key)) + String(masterKey(key).key) + inspect(masterKey(key));
    expect(printed).not.toContain(key.toString("hex"));
    expect(printed).not.toContain(key.toString("base64"));
  });

  it("a keyring holds the current and previous keys and refuses the same key twice", () => {
    const a = masterKey(randomBytes(32));
    const b = masterKey(randomBytes(32));
    const ring = createKeyring(b, a);
    expect(ring.current.id).toBe(b.id);
    expect(ring.ids).toEqual([b.id, a.id]);
    expect(ring.get(a.id)).toBe(a);
    expect(ring.get("mk-000000000000")).toBeUndefined();
    const same = randomBytes(32);
    expect(() => createKeyring(masterKey(same), masterKey(same))).toThrow(/the previous master key is the current one/);
  });
});

describe("the embedded master key file", () => {
  it("is generated once with mode 0600 and reused", () => {
    const dir = mkdtempSync(join(tmpdir(), "sb-mk-"));
    const first = resolveEmbeddedMasterKey(dir);
    expect(first.source).toBe("generated");
    expect(statSync(join(dir, "master-key")).mode & 0o777).toBe(0o600);
    const again = resolveEmbeddedMasterKey(dir);
    expect(again.source).toBe("file");
    expect(again.key.equals(first.key)).toBe(true);
    expect(again.looseMode).toBeUndefined();
    chmodSync(join(dir, "master-key"), 0o644);
    expect(resolveEmbeddedMasterKey(dir).looseMode).toBe("0644");
    expect(resolveKeyring({ dataDir: dir }).keyring.current.id).toBe(masterKeyId(first.key));
  });

  it("refuses a damaged file instead of generating a new key", () => {
    const dir = mkdtempSync(join(tmpdir(), "sb-mk-"));
    writeFileSync(join(dir, "master-key"), "short");
    expect(() => resolveEmbeddedMasterKey(dir)).toThrow(/master-key: the master key .*restore the file/);
    expect(readFileSync(join(dir, "master-key"), "utf8")).toBe("short");
  });

  it("uses the configured keys over the file, the previous one for unwrapping", () => {
    const current = randomBytes(32);
    const previous = randomBytes(32);
    const { keyring } = resolveKeyring({ masterKey: current.toString("base64"), previousMasterKey: previous.toString("base64"), dataDir: "memory://" });
    expect(keyring.ids).toEqual([masterKeyId(current), masterKeyId(previous)]);
    expect(resolveKeyring({ dataDir: "memory://" }).keyring.ids).toHaveLength(1);
  });
});
