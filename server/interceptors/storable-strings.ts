import { ScalarType, type DescMessage, type DescService, type Message } from "@bufbuild/protobuf";
import { isReflectMessage, reflect, type ReflectMessage } from "@bufbuild/protobuf/reflect";
import type { Interceptor } from "@connectrpc/connect";
import { fieldViolation } from "../errors/field-violation.js";
import { storableCopy, storableText, UNSTORABLE_TEXT } from "../store/storable-text.js";

/** Options of {@link createStorableStringsInterceptor}. */
export interface StorableStringsOptions {
  /** Services whose request messages are checked (the admin services: what they are given is stored). */
  services: readonly DescService[];
}

/**
 * Refuses a request of the given services with a string — a field, a list item, a map key or
 * value, at any depth — that Postgres could not store: a NUL or an unpaired surrogate
 * (`storable-text.ts`; the Connect JSON codec reads `\u0000` and `\udc00` escapes into such
 * strings). `InvalidArgument` naming the field (in a `buf.validate.Violations` detail, rule
 * `string.storable`), instead of the `Internal` the store's refusal
 * would become after the handler ran. The verbs are not among the services: their prompts may
 * hold any text (it goes to the provider, and the logs keep a cleaned copy), and the parts of a
 * call that are stored — its tags and end user — are checked where the call is parsed.
 */
export function createStorableStringsInterceptor(opts: StorableStringsOptions): Interceptor {
  const services = new Set(opts.services.map((s) => s.typeName));
  return (next) => (req) => {
    if (!services.has(req.service.typeName)) return next(req);
    if (!req.stream) {
      check(req.method.input, req.message);
      return next(req);
    }
    // A streaming method's request (ExportUsage: server streaming) reaches the handler as an
    // iterable: each message is checked as the handler takes it, before it can reach the store.
    const messages = req.message;
    return next({
      ...req,
      message: (async function* () {
        for await (const message of messages) {
          check(req.method.input, message);
          yield message;
        }
      })(),
    });
  };
}

/** Throws `InvalidArgument` on the first string of `message` Postgres could not store. */
function check(schema: DescMessage, message: Message): void {
  const bad = unstorableField(reflect(schema, message), "");
  if (bad !== undefined) throw fieldViolation(bad, UNSTORABLE_TEXT, "string.storable");
}

/** The path of the first string in `message` that {@link storableText} refuses, if any. */
function unstorableField(message: ReflectMessage, prefix: string): string | undefined {
  for (const field of message.fields) {
    if (!message.isSet(field)) continue;
    const path = `${prefix}${field.name}`;
    const value: unknown = message.get(field);
    if (field.fieldKind === "scalar") {
      if (field.scalar === ScalarType.STRING && !storableText(value as string)) return path;
    } else if (field.fieldKind === "message") {
      if (isReflectMessage(value)) {
        const bad = unstorableField(value, `${path}.`);
        if (bad !== undefined) return bad;
      }
    } else if (field.fieldKind === "list") {
      let i = 0;
      for (const item of value as Iterable<unknown>) {
        const at = `${path}[${i++}]`;
        if (typeof item === "string" && !storableText(item)) return at;
        if (isReflectMessage(item)) {
          const bad = unstorableField(item, `${at}.`);
          if (bad !== undefined) return bad;
        }
      }
    } else if (field.fieldKind === "map") {
      for (const [key, item] of value as Iterable<[unknown, unknown]>) {
        const at = `${path}[${JSON.stringify(typeof key === "string" ? storableCopy(key) : String(key))}]`;
        if ((typeof key === "string" && !storableText(key)) || (typeof item === "string" && !storableText(item))) return at;
        if (isReflectMessage(item)) {
          const bad = unstorableField(item, `${at}.`);
          if (bad !== undefined) return bad;
        }
      }
    }
  }
  return undefined;
}
