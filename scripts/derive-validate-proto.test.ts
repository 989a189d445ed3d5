// Proves that proto/buf/validate/validate.proto is current, and that buf compiles it back into the
// descriptor @bufbuild/protovalidate embeds, less only the predefined-rule options the printer leaves out.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { createRegistry, equals, fromBinary, toJson } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema, FileDescriptorSetSchema, type FileDescriptorProto } from "@bufbuild/protobuf/wkt";
import { file_buf_validate_validate } from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";
import { afterAll, describe, expect, it } from "vitest";
import {
  deriveValidateProto,
  OUTPUT_PATH,
  printFileDescriptor,
  REPO_ROOT,
  stripOwnExtensionOptions,
} from "./derive-validate-proto.js";

const BUF = path.join(REPO_ROOT, "node_modules", ".bin", "buf");
const PROTO_PATH = path.relative(REPO_ROOT, OUTPUT_PATH);
const tmp = mkdtempSync(path.join(tmpdir(), "derive-validate-proto-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/**
 * Runs `buf build` on `input` (from `cwd`) and returns the descriptor of `name`. The output is a
 * plain FileDescriptorSet: a buf image adds its own extension (field 8042) to every file.
 */
function bufBuild(cwd: string, input: string[], name: string): FileDescriptorProto {
  const out = path.join(tmp, `${name.replaceAll("/", "_")}.binpb`);
  const args = ["build", ...input, "--as-file-descriptor-set", "--exclude-source-info", "-o", out];
  execFileSync(BUF, args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
  const file = fromBinary(FileDescriptorSetSchema, readFileSync(out)).file.find((f) => f.name === name);
  if (file === undefined) throw new Error(`buf build output has no ${name}`);
  return file;
}

/** Compiles the committed file with the repo's buf workspace and returns its descriptor. */
function buildCommittedFile(): FileDescriptorProto {
  // --path: only this file (and its imports), so protos being edited elsewhere cannot break the test.
  return bufBuild(REPO_ROOT, ["--path", PROTO_PATH], "buf/validate/validate.proto");
}

/** Writes `text` as `name` into a fresh module directory and compiles it. */
function buildSource(dir: string, name: string, text: string): FileDescriptorProto {
  const module = path.join(tmp, dir);
  mkdirSync(path.dirname(path.join(module, name)), { recursive: true });
  writeFileSync(path.join(module, name), text);
  return bufBuild(module, ["."], name);
}

function expectSameDescriptor(actual: FileDescriptorProto, expected: FileDescriptorProto): void {
  // The JSON comparison shows a readable diff; `equals` with `unknown` also compares option
  // extensions still stored as unknown fields, so nothing else can have been dropped silently.
  expect(toJson(FileDescriptorProtoSchema, actual)).toEqual(toJson(FileDescriptorProtoSchema, expected));
  const registry = createRegistry();
  expect(equals(FileDescriptorProtoSchema, actual, expected, { registry, unknown: true })).toBe(true);
}

/** Uses what validate.proto does not (yet): nested types, maps, defaults, json_name, field options. */
const SAMPLE = String.raw`syntax = "proto2";
package acme.v1;
import "google/protobuf/duration.proto";
option optimize_for = CODE_SIZE;
option java_package = "com.acme.v1";
message google {}
enum Kind { KIND_UNSPECIFIED = 0; reserved 2, 4 to 6, 9 to max; reserved "OLD"; }
message Outer {
  option deprecated = true;
  message Inner { optional sint32 x = 1 [default = -5]; }
  enum Kind { option allow_alias = true; K0 = 0; K1 = 1; K_ALIAS = 1 [deprecated = true]; }
  optional Inner inner = 1;
  optional Kind kind = 2 [default = K1];
  map<string, Inner> by_name = 3;
  repeated int32 packed_ints = 4 [packed = true];
  optional string s = 5 [default = "a\"b\\c\n\u00e9", json_name = "S"];
  optional bytes b = 6 [default = "\001\377x"];
  optional double d = 7 [default = -inf];
  optional .google.protobuf.Duration ttl = 8 [deprecated = true];
  required bool ok = 9;
  oneof choice { string a = 10; int64 c = 11 [jstype = JS_STRING]; }
  optional .acme.v1.Kind top = 12;
  reserved 100, 200 to 300, 1000 to max;
  reserved "gone";
  extensions 500 to 599;
  extend Outer { optional int32 ext = 500; }
}
`;

/** The comparable form: predefined-rule options and comments removed. */
function comparable(file: FileDescriptorProto): { file: FileDescriptorProto; dropped: number } {
  const stripped = stripOwnExtensionOptions(file);
  stripped.file.sourceCodeInfo = undefined;
  return stripped;
}

describe("proto/buf/validate/validate.proto", () => {
  it("is current: equal to what scripts/derive-validate-proto.ts derives", () => {
    const committed = readFileSync(OUTPUT_PATH, "utf8");
    expect(committed, "run `npx tsx scripts/derive-validate-proto.ts`").toBe(deriveValidateProto().text);
  });

  it("compiles to the embedded descriptor, less the predefined-rule options", () => {
    const embedded = comparable(file_buf_validate_validate.proto);
    const built = comparable(buildCommittedFile());
    expect(embedded.dropped).toBeGreaterThan(0);
    expect(built.dropped).toBe(0);
    expectSameDescriptor(built.file, embedded.file);
  });

  it("the printer round-trips proto2 features validate.proto does not use yet", () => {
    const original = buildSource("sample", "acme/v1/sample.proto", SAMPLE);
    const printed = printFileDescriptor(original);
    expect(printed).toContain("optional .google.protobuf.Duration ttl = 8"); // `google` is shadowed
    expectSameDescriptor(buildSource("reprinted", "acme/v1/sample.proto", printed), original);
  });

  it("the --check command accepts the committed file", () => {
    const tsx = path.join(REPO_ROOT, "node_modules", ".bin", "tsx");
    const script = path.join(REPO_ROOT, "scripts", "derive-validate-proto.ts");
    expect(() => execFileSync(tsx, [script, "--check"], { cwd: REPO_ROOT, stdio: "pipe" })).not.toThrow();
  });
});
