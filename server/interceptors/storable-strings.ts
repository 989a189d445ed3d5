import { ScalarType, type DescMessage, type DescService, type Message } from "@bufbuild/protobuf";
import { isReflectMessage, reflect, type ReflectMessage } from "@bufbuild/protobuf/reflect";
import { FieldMaskSchema, type FieldMask } from "@bufbuild/protobuf/wkt";
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
 * `string.storable`), instead of the `Internal` the store's refusal would become after the
 * handler ran. Of an Update request's resource, only what the handler reads is checked: its
 * `name` and the fields the mask names (AIP-134). The verbs are not among the services: their
 * prompts may hold any text (it goes to the provider, and the logs keep a cleaned copy), and the
 * parts of a call that are stored — its tags and end user — are checked where the call is parsed.
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
  const request = reflect(schema, message);
  const bad = unstorableField(request, "", undefined, readOfResource(request));
  if (bad !== undefined) throw fieldViolation(bad, UNSTORABLE_TEXT, "string.storable");
}

/**
 * What an Update request's handler reads of its resource (AIP-134): `name` and the top-level
 * fields its `update_mask` names; the rest is ignored, so not refused here either. Undefined
 * (everything) for any other request, and for a mask of `*` or none (which the handler refuses).
 */
function readOfResource(request: ReflectMessage): ReadonlySet<string> | undefined {
  const field = request.fields.find((f) => f.name === "update_mask" && f.message?.typeName === FieldMaskSchema.typeName);
  if (field === undefined || !request.isSet(field)) return undefined;
  const { paths } = (request.get(field) as ReflectMessage).message as FieldMask;
  if (paths.length === 0 || paths.includes("*")) return undefined;
  return new Set(["name", ...paths.map((p) => p.split(".")[0]!)]);
}

/**
 * The path of the first string in `message` that {@link storableText} refuses, if any. Only the
 * fields in `only`, when given; and in a message field of `message`, only those in `nested`.
 */
function unstorableField(message: ReflectMessage, prefix: string, only?: ReadonlySet<string>, nested?: ReadonlySet<string>): string | undefined {
  for (const field of message.fields) {
    if (!message.isSet(field) || (only !== undefined && !only.has(field.name))) continue;
    const path = `${prefix}${field.name}`;
    const value: unknown = message.get(field);
    if (field.fieldKind === "scalar") {
      if (field.scalar === ScalarType.STRING && !storableText(value as string)) return path;
    } else if (field.fieldKind === "message") {
      if (isReflectMessage(value)) {
        const bad = unstorableField(value, `${path}.`, nested);
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
