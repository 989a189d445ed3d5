import { Writable } from "node:stream";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CENSOR, redactLogObject, withoutUrl } from "./log-redaction.js";
import { createLogger } from "./logger.js";

/** A logger writing into an array of parsed lines. */
function capture() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split("\n")) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  return { lines, logger: createLogger({ level: "info", destination }) };
}
const flush = () => new Promise((r) => setImmediate(r));

const NESTED = ["authorization", "apiKey", "api_key", "secret", "password", "value"];

describe("log redaction", () => {
  it("censors every documented path in a real log line, bindings included, and leaves the caller's objects alone", async () => {
    const { lines, logger } = capture();
    const headers = { authorization: "Bearer sb_live_x", cookie: "sid=1", accept: "json" };
    const credential = { secret: "sk-1", apiKey: "k", api_key: "k2", password: "p", value: "v", name: "ok" };
    logger.child({ authorization: "bound" }).info({ authorization: "top", headers, credential, n: 3 }, "m");
    await flush();
    const line = lines[0]!;
    expect(line.authorization).toBe(CENSOR);
    expect(line.headers).toEqual({ authorization: CENSOR, cookie: CENSOR, accept: "json" });
    expect(line.credential).toEqual({ secret: CENSOR, apiKey: CENSOR, api_key: CENSOR, password: CENSOR, value: CENSOR, name: "ok" });
    expect(line.n).toBe(3);
    expect(JSON.stringify(line)).not.toMatch(/sb_live_x|sk-1|sid=1|bound/);
    expect(headers.authorization).toBe("Bearer sb_live_x");
    expect(credential.secret).toBe("sk-1");
  });

  it("censors an error's own secret field and still serialises the error", async () => {
    const { lines, logger } = capture();
    const err = Object.assign(new Error("boom"), { value: "sk-secret", code: 7 });
    logger.warn({ err }, "failed");
    await flush();
    const e = lines[0]!.err as Record<string, unknown>;
    expect(e).toMatchObject({ type: "Error", message: "boom", value: CENSOR, code: 7 });
    expect(String(e.stack)).toContain("boom");
    expect(err.value).toBe("sk-secret");
  });

  it("copies an accessor as the value it has on the original (an error's stack from Node 22)", () => {
    // Node 22+ gives an error an own `stack` getter that answers only for that error; this one
    // does the same on any Node, so the copy is checked where CI runs too.
    const err = Object.assign(new Error("boom"), { value: "sk-secret" });
    const stacks = new WeakMap([[err, "Error: boom\n    at here"]]);
    Object.defineProperty(err, "stack", { get: function (this: typeof err) { return stacks.get(this); }, enumerable: false, configurable: true });
    const out = redactLogObject({ err }).err as Error & { value: string };
    expect(out).not.toBe(err);
    expect([out.value, out.stack, out instanceof Error]).toEqual([CENSOR, "Error: boom\n    at here", true]);
    expect(Object.getOwnPropertyDescriptor(out, "stack")?.enumerable).toBe(false);
  });

  it("returns an object with nothing to censor as it is (no copy per access-log line)", () => {
    const line = { code: "ok", durationMs: 3, peer: { ip: "127.0.0.1" }, tags: ["a"] };
    expect(redactLogObject(line)).toBe(line);
  });

  it("censors exactly the documented paths in any object (property)", () => {
    const key = fc.constantFrom(...NESTED, "headers", "cookie", "name", "x", "err");
    const leaf = fc.oneof(fc.string(), fc.integer(), fc.constant(null));
    const child = fc.dictionary(key, leaf, { maxKeys: 6 });
    const obj = fc.dictionary(key, fc.oneof(leaf, child), { maxKeys: 6 });
    fc.assert(
      fc.property(obj, (input) => {
        const before = JSON.stringify(input);
        const out = redactLogObject(input);
        expect(JSON.stringify(input)).toBe(before);
        for (const [k, v] of Object.entries(input)) {
          const o = out[k];
          if (k === "authorization") {
            expect(o).toBe(CENSOR);
          } else if (typeof v === "object" && v !== null) {
            for (const [ck, cv] of Object.entries(v)) {
              const censored = NESTED.includes(ck) || (k === "headers" && ck === "cookie");
              expect((o as Record<string, unknown>)[ck]).toEqual(censored ? CENSOR : cv);
            }
          } else {
            expect(o).toEqual(v);
          }
        }
        expect(Object.keys(out).sort()).toEqual(Object.keys(input).sort());
      }),
      { numRuns: 500 },
    );
  });
});

describe("withoutUrl", () => {
  const url = "https://hook:PW123@h.example/x?token=TOK456";
  it("removes the URL as given, as fetch normalises it, and as sent without its userinfo", () => {
    for (const quoted of [url, new URL(url).href, "https://h.example/x?token=TOK456"]) {
      expect(withoutUrl(`request to ${quoted} failed`, url)).toBe("request to https://h.example/x failed");
    }
  });
});
