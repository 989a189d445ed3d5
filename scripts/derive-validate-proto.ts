/**
 * Derives `proto/buf/validate/validate.proto` (protovalidate's rule schema) from the
 * `FileDescriptorProto` that `@bufbuild/protovalidate` embeds, because the package ships no `.proto`
 * and the Buf Schema Registry is unreachable from our machines.
 *
 * The predefined-rule CEL options that validate.proto puts on its own fields (`(buf.validate.predefined)`)
 * are left out: Switchboard compiles the file only to resolve its imports and extensions, and the
 * runtime validates with its embedded copy. `scripts/derive-validate-proto.test.ts` proves that
 * `buf build` turns the written file back into exactly the embedded descriptor, less those options.
 *
 * Usage: `npx tsx scripts/derive-validate-proto.ts [--check]`. With `--check` nothing is written and
 * the exit code is 1 when the committed file differs from what would be written.
 *
 * @module
 */
import { existsSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { clone, isFieldSet, ScalarType, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { reflect } from "@bufbuild/protobuf/reflect";
import {
  type DescriptorProto,
  type EnumDescriptorProto,
  type FieldDescriptorProto,
  type FileDescriptorProto,
  EnumOptionsSchema,
  EnumValueOptionsSchema,
  ExtensionRangeOptionsSchema,
  FieldDescriptorProto_LabelSchema,
  FieldDescriptorProto_Type,
  FieldDescriptorProto_TypeSchema,
  FieldDescriptorProtoSchema,
  FieldOptionsSchema,
  FileDescriptorProtoSchema,
  FileOptionsSchema,
  MessageOptionsSchema,
  OneofOptionsSchema,
} from "@bufbuild/protobuf/wkt";
import { file_buf_validate_validate } from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";

/** Repository root (the parent of `scripts/`). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
/** Where the derived schema is written. */
export const OUTPUT_PATH = path.join(REPO_ROOT, "proto", "buf", "validate", "validate.proto");

/** The printed schema and how many extension options were left out of it. */
export interface DerivedProto {
  text: string;
  droppedOptions: number;
}

/**
 * Returns a copy of `file` without the options that set one of the file's own extensions (stored as
 * unknown fields, since protobuf-es does not register them), clearing option messages left empty.
 * `deriveValidateProto` prints the result; the test applies it to both descriptors it compares.
 */
export function stripOwnExtensionOptions(file: FileDescriptorProto): {
  file: FileDescriptorProto;
  dropped: number;
} {
  const copy = clone(FileDescriptorProtoSchema, file);
  const own = new Map<string, Set<number>>();
  const collect = (exts: FieldDescriptorProto[]) => {
    for (const e of exts) own.set(e.extendee, (own.get(e.extendee) ?? new Set()).add(e.number));
  };
  collect(copy.extension);
  forEachMessage(copy.messageType, (m) => collect(m.extension));

  let dropped = 0;
  const strip = <Desc extends DescMessage>(schema: Desc, o: MessageShape<Desc> | undefined) => {
    if (o === undefined) return undefined;
    const numbers = own.get(`.${schema.typeName}`);
    const kept = (o.$unknown ?? []).filter((u) => !numbers?.has(u.no));
    dropped += (o.$unknown?.length ?? 0) - kept.length;
    o.$unknown = kept.length > 0 ? kept : undefined;
    const r = reflect(schema, o);
    return kept.length > 0 || r.fields.some((f) => r.isSet(f)) ? o : undefined;
  };
  const stripFields = (fields: FieldDescriptorProto[]) => {
    for (const f of fields) f.options = strip(FieldOptionsSchema, f.options);
  };
  const stripEnums = (enums: EnumDescriptorProto[]) => {
    for (const e of enums) {
      e.options = strip(EnumOptionsSchema, e.options);
      for (const v of e.value) v.options = strip(EnumValueOptionsSchema, v.options);
    }
  };
  copy.options = strip(FileOptionsSchema, copy.options);
  stripFields(copy.extension);
  stripEnums(copy.enumType);
  forEachMessage(copy.messageType, (m) => {
    m.options = strip(MessageOptionsSchema, m.options);
    stripFields(m.field);
    stripFields(m.extension);
    stripEnums(m.enumType);
    for (const o of m.oneofDecl) o.options = strip(OneofOptionsSchema, o.options);
    for (const r of m.extensionRange) r.options = strip(ExtensionRangeOptionsSchema, r.options);
  });
  return { file: copy, dropped };
}

/**
 * Prints a proto2 `FileDescriptorProto` as `.proto` source. Throws on anything it cannot render
 * faithfully (other syntaxes, groups, services, message-typed or unknown options, split oneofs).
 */
export function printFileDescriptor(file: FileDescriptorProto, header: string[] = []): string {
  if (file.syntax !== "" && file.syntax !== "proto2") throw new Error(`unsupported syntax "${file.syntax}"`);
  if (file.service.length > 0) throw new Error("services are not supported");
  const ctx = newContext(file);
  const imports = file.dependency.map((d, i) => {
    const kind = file.publicDependency.includes(i) ? "public " : file.weakDependency.includes(i) ? "weak " : "";
    return `import ${kind}${quote(d)};`;
  });
  const sections: string[][] = [
    header.map((h) => (h === "" ? "//" : `// ${h}`)),
    ['syntax = "proto2";'],
    file.package ? [`package ${file.package};`] : [],
    imports,
    optionEntries(FileOptionsSchema, file.options).map((o) => `option ${o};`),
    ...groupExtends(file.extension).map((group) => printExtend(group, ctx)),
    ...file.messageType.map((m) => printMessage(m, file.package, ctx)),
    ...file.enumType.map(printEnum),
  ];
  return `${sections.filter((s) => s.length > 0).map((s) => s.join("\n")).join("\n\n")}\n`;
}

/** Derives validate.proto from the descriptor embedded in `@bufbuild/protovalidate`. */
export function deriveValidateProto(): DerivedProto {
  const { file, dropped } = stripOwnExtensionOptions(file_buf_validate_validate.proto);
  const header = [
    `Code generated by scripts/derive-validate-proto.ts from @bufbuild/protovalidate ${protovalidateVersion()}. DO NOT EDIT.`,
    "",
    "protovalidate's rule schema, buf/validate/validate.proto: Copyright Buf Technologies, Inc.,",
    "licensed under the Apache License, Version 2.0. Rebuilt from the FileDescriptorProto the package",
    "embeds, which carries no comments: see the protovalidate project for the documentation. The",
    `${dropped} predefined-rule CEL options ((buf.validate.predefined) on this file's own fields) are`,
    "left out: the runtime validates with its embedded copy of this schema.",
  ];
  return { text: printFileDescriptor(file, header), droppedOptions: dropped };
}

// ---------------------------------------------------------------------------------------------
// Printing

interface Context {
  pkg: string;
  /** Simple names of nested types: a relative reference starting with one may resolve to them. */
  nested: Set<string>;
  /** Top-level type names and package components: they shadow foreign references. */
  outer: Set<string>;
}

function newContext(file: FileDescriptorProto): Context {
  const nested = new Set<string>();
  forEachMessage(file.messageType, (m) => {
    for (const n of m.nestedType) nested.add(n.name);
    for (const e of m.enumType) nested.add(e.name);
  });
  const outer = new Set([...file.messageType, ...file.enumType].map((t) => t.name));
  for (const part of file.package.split(".")) outer.add(part);
  return { pkg: file.package, nested, outer };
}

function printMessage(msg: DescriptorProto, scope: string, ctx: Context): string[] {
  const body = [
    ...optionEntries(MessageOptionsSchema, msg.options).map((o) => `option ${o};`),
    ...printMembers(msg, scope ? `${scope}.${msg.name}` : msg.name, ctx),
    ...msg.extensionRange.map((r) => {
      const range = formatRange(r.start, r.end - 1, FIELD_MAX);
      return `extensions ${range}${bracket(optionEntries(ExtensionRangeOptionsSchema, r.options))};`;
    }),
    ...printReserved(msg.reservedRange.map((r) => formatRange(r.start, r.end - 1, FIELD_MAX)), msg.reservedName),
    ...msg.enumType.flatMap(printEnum),
    ...groupExtends(msg.extension).flatMap((group) => printExtend(group, ctx)),
  ];
  return block(`message ${msg.name}`, body);
}

/**
 * Prints fields in declaration order, gathering each oneof's fields into its block, and nested
 * messages where they keep their order: a map field's entry type takes its place among them.
 */
function printMembers(msg: DescriptorProto, fullName: string, ctx: Context): string[] {
  const lines: string[] = [];
  let open: { index: number; fields: string[] } | undefined;
  const close = () => {
    if (open === undefined) return;
    const decl = msg.oneofDecl[open.index];
    if (decl === undefined) throw new Error(`${msg.name}: oneof index ${open.index} out of range`);
    const opts = optionEntries(OneofOptionsSchema, decl.options).map((o) => `option ${o};`);
    lines.push(...block(`oneof ${decl.name}`, [...opts, ...open.fields]));
    open = undefined;
  };
  let nextNested = 0;
  const nestedUpTo = (end: number) => {
    for (; nextNested < end; nextNested++) {
      const nested = msg.nestedType[nextNested];
      if (nested && !isMapEntry(nested)) lines.push(...printMessage(nested, fullName, ctx));
    }
  };
  let oneofsOpened = 0;
  for (const field of msg.field) {
    const inOneof = isFieldSet(field, FieldDescriptorProtoSchema.field.oneofIndex);
    if (!inOneof || field.oneofIndex !== open?.index) close();
    const entryIndex = msg.nestedType.findIndex((n) => isMapEntry(n) && field.typeName === `.${fullName}.${n.name}`);
    if (entryIndex !== -1) nestedUpTo(entryIndex + 1);
    if (!inOneof) {
      lines.push(printField(field, ctx, { label: true, entry: msg.nestedType[entryIndex] }));
      continue;
    }
    if (open === undefined) {
      // Compiling assigns oneof indexes in order of appearance, so a block must not reopen.
      if (field.oneofIndex !== oneofsOpened++) throw new Error(`${msg.name}: oneof fields are not contiguous`);
      open = { index: field.oneofIndex, fields: [] };
    }
    open.fields.push(printField(field, ctx, { label: false }));
  }
  close();
  nestedUpTo(msg.nestedType.length);
  if (oneofsOpened !== msg.oneofDecl.length) throw new Error(`${msg.name}: a oneof has no fields`);
  return lines;
}

function isMapEntry(msg: DescriptorProto): boolean {
  return msg.options?.mapEntry === true;
}

/** A field or extension; `entry` is the entry type of a map field. */
function printField(field: FieldDescriptorProto, ctx: Context, opts: { label: boolean; entry?: DescriptorProto }): string {
  const [key, value] = opts.entry?.field ?? [];
  const type = key && value ? `map<${fieldType(key, ctx)}, ${fieldType(value, ctx)}>` : fieldType(field, ctx);
  const labelName = FieldDescriptorProto_LabelSchema.value[field.label]?.name.slice("LABEL_".length).toLowerCase();
  const label = opts.label && !opts.entry ? `${labelName} ` : "";
  const extras: string[] = [];
  if (isFieldSet(field, FieldDescriptorProtoSchema.field.defaultValue)) {
    extras.push(`default = ${formatDefault(field)}`);
  }
  if (isFieldSet(field, FieldDescriptorProtoSchema.field.jsonName) && field.jsonName !== defaultJsonName(field.name)) {
    extras.push(`json_name = ${quote(field.jsonName)}`);
  }
  extras.push(...optionEntries(FieldOptionsSchema, field.options));
  return `${label}${type} ${field.name} = ${field.number}${bracket(extras)};`;
}

function fieldType(field: FieldDescriptorProto, ctx: Context): string {
  switch (field.type) {
    case FieldDescriptorProto_Type.MESSAGE:
    case FieldDescriptorProto_Type.ENUM:
      return typeRef(field.typeName, ctx);
    case FieldDescriptorProto_Type.GROUP:
      throw new Error(`${field.name}: groups are not supported`);
    default:
      const name = FieldDescriptorProto_TypeSchema.value[field.type]?.name;
      if (name === undefined) throw new Error(`${field.name}: unknown field type ${field.type}`);
      return name.slice("TYPE_".length).toLowerCase();
  }
}

/** Shortens a fully-qualified type name when the short form cannot resolve to another type. */
function typeRef(fullName: string, ctx: Context): string {
  const name = fullName.slice(1);
  const head = (n: string) => n.split(".")[0] ?? n;
  if (ctx.pkg && name.startsWith(`${ctx.pkg}.`)) {
    const local = name.slice(ctx.pkg.length + 1);
    return ctx.nested.has(head(local)) ? fullName : local;
  }
  return ctx.nested.has(head(name)) || ctx.outer.has(head(name)) ? fullName : name;
}

function printEnum(e: EnumDescriptorProto): string[] {
  const body = [
    ...optionEntries(EnumOptionsSchema, e.options).map((o) => `option ${o};`),
    ...e.value.map((v) => `${v.name} = ${v.number}${bracket(optionEntries(EnumValueOptionsSchema, v.options))};`),
    ...printReserved(e.reservedRange.map((r) => formatRange(r.start, r.end, ENUM_MAX)), e.reservedName),
  ];
  return block(`enum ${e.name}`, body);
}

/** Splits extensions into runs of consecutive fields that extend the same message. */
function groupExtends(exts: FieldDescriptorProto[]): FieldDescriptorProto[][] {
  const groups: FieldDescriptorProto[][] = [];
  for (const ext of exts) {
    const last = groups.at(-1);
    if (last?.[0]?.extendee === ext.extendee) last.push(ext);
    else groups.push([ext]);
  }
  return groups;
}

function printExtend(group: FieldDescriptorProto[], ctx: Context): string[] {
  const extendee = typeRef(group[0]?.extendee ?? "", ctx);
  return block(`extend ${extendee}`, group.map((f) => printField(f, ctx, { label: true })));
}

function printReserved(ranges: string[], names: string[]): string[] {
  return [
    ...(ranges.length > 0 ? [`reserved ${ranges.join(", ")};`] : []),
    ...(names.length > 0 ? [`reserved ${names.map(quote).join(", ")};`] : []),
  ];
}

const FIELD_MAX = 536_870_911;
const ENUM_MAX = 2_147_483_647;

/** Formats an inclusive range; callers convert end-exclusive descriptor ranges first. */
function formatRange(start: number, end: number, max: number): string {
  if (start === end) return String(start);
  return `${start} to ${end === max ? "max" : end}`;
}

/** `name = value` for every set option; unknown (extension) options must have been stripped. */
function optionEntries<Desc extends DescMessage>(schema: Desc, options: MessageShape<Desc> | undefined): string[] {
  if (options === undefined) return [];
  if ((options.$unknown?.length ?? 0) > 0) throw new Error(`${schema.typeName}: cannot print extension options`);
  const r = reflect(schema, options);
  return r.fields
    .filter((f) => r.isSet(f))
    .map((f) => {
      if (f.fieldKind === "scalar") return `${f.name} = ${formatScalar(f.scalar, r.get(f))}`;
      if (f.fieldKind === "enum") return `${f.name} = ${f.enum.values.find((v) => v.number === r.get(f))?.name}`;
      throw new Error(`${schema.typeName}.${f.name}: ${f.fieldKind} options are not supported`);
    });
}

function formatScalar(type: ScalarType, value: unknown): string {
  if (type === ScalarType.STRING) return quote(String(value));
  if (type === ScalarType.BYTES) return quoteBytes(value as Uint8Array);
  if (typeof value === "number" && !Number.isFinite(value)) return Number.isNaN(value) ? "nan" : value > 0 ? "inf" : "-inf";
  return String(value);
}

/** Descriptor defaults are text already: bytes C-escaped, enums by name, floats as `inf`/`nan`. */
function formatDefault(field: FieldDescriptorProto): string {
  if (field.type === FieldDescriptorProto_Type.STRING) return quote(field.defaultValue);
  if (field.type === FieldDescriptorProto_Type.BYTES) return `"${field.defaultValue}"`;
  return field.defaultValue;
}

/** protoc's default JSON name: underscores dropped, the letter after each one upper-cased. */
function defaultJsonName(name: string): string {
  return name.replace(/_+(.?)/g, (_, c: string) => c.toUpperCase());
}

const ESCAPES: Record<string, string> = { "\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t" };

function quote(s: string): string {
  const escaped = s.replace(/[\\"\x00-\x1f\x7f]/g, (c) => ESCAPES[c] ?? `\\x${hex(c.charCodeAt(0))}`);
  return `"${escaped}"`;
}

function quoteBytes(bytes: Uint8Array): string {
  const chars = Array.from(bytes, (b) => (b >= 0x20 && b < 0x7f ? quote(String.fromCharCode(b)).slice(1, -1) : `\\x${hex(b)}`));
  return `"${chars.join("")}"`;
}

function hex(n: number): string {
  return n.toString(16).padStart(2, "0");
}

function bracket(entries: string[]): string {
  return entries.length > 0 ? ` [${entries.join(", ")}]` : "";
}

function block(head: string, body: string[]): string[] {
  return body.length === 0 ? [`${head} {}`] : [`${head} {`, ...body.map((l) => `  ${l}`), "}"];
}

function forEachMessage(messages: DescriptorProto[], fn: (m: DescriptorProto) => void): void {
  for (const m of messages) {
    fn(m);
    forEachMessage(m.nestedType, fn);
  }
}

// ---------------------------------------------------------------------------------------------
// Command line

/** The installed version (a direct dependency, so npm places it at the top of node_modules). */
function protovalidateVersion(): string {
  const file = path.join(REPO_ROOT, "node_modules", "@bufbuild", "protovalidate", "package.json");
  return (JSON.parse(readFileSync(file, "utf8")) as { version: string }).version;
}

function main(args: string[]): number {
  if (args.some((a) => a !== "--check")) {
    console.error("usage: tsx scripts/derive-validate-proto.ts [--check]");
    return 2;
  }
  const { text, droppedOptions } = deriveValidateProto();
  const rel = path.relative(REPO_ROOT, OUTPUT_PATH);
  if (args.includes("--check")) {
    const current = existsSync(OUTPUT_PATH) ? readFileSync(OUTPUT_PATH, "utf8") : undefined;
    if (current === text) {
      console.log(`${rel} is up to date`);
      return 0;
    }
    const why = current === undefined ? "is missing" : `differs from the derived schema from line ${firstDifferentLine(current, text)}`;
    console.error(`${rel} ${why}. Run \`npx tsx scripts/derive-validate-proto.ts\` and commit the result.`);
    return 1;
  }
  mkdirSync(path.dirname(OUTPUT_PATH), { recursive: true });
  writeFileSync(OUTPUT_PATH, text);
  console.log(`wrote ${rel} (left out ${droppedOptions} predefined-rule options)`);
  return 0;
}

function firstDifferentLine(a: string, b: string): number {
  const [la, lb] = [a.split("\n"), b.split("\n")];
  const i = la.findIndex((line, n) => line !== lb[n]);
  return (i === -1 ? la.length : i) + 1;
}

const invokedDirectly =
  process.argv[1] !== undefined && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
if (invokedDirectly) process.exitCode = main(process.argv.slice(2));
