import { fromJsonString } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { AuditCheckpointSchema } from "../../gen/ts/switchboard/v1/audit_service_pb.js";
import { checkpointMessage } from "../services/audit-checkpoint-messages.js";
import { checkpointJson, checkpointSigningKey, parseCheckpointJson, signCheckpoint, type AuditCheckpoint } from "./checkpoint.js";

const key = checkpointSigningKey("test-pepper-0123456789abcdef-0123456789abcdef");
const unsigned = { sequence: 42n, hash: "ab".repeat(32), time: new Date("2025-01-02T03:04:05.678Z"), replica: "host/1" };
const checkpoint: AuditCheckpoint = { ...unsigned, signature: signCheckpoint(unsigned, key) };

describe("audit checkpoints", () => {
  it("round-trips through its JSON line", () => {
    const line = checkpointJson(checkpoint);
    expect(JSON.parse(line)).toEqual({ sequence: "42", hash: unsigned.hash, time: "2025-01-02T03:04:05.678Z", replica: "host/1", signature: checkpoint.signature });
    expect(parseCheckpointJson(line)).toEqual(checkpoint);
    // The line is also the proto JSON of an AuditCheckpoint: a file's lines feed VerifyAuditChain as they are.
    expect(fromJsonString(AuditCheckpointSchema, line)).toEqual(checkpointMessage(checkpoint));
    expect(parseCheckpointJson(JSON.stringify({ sequence: 7, hash: unsigned.hash, time: "2025-01-02T03:04:05Z" }))).toMatchObject({ sequence: 7n, replica: "", signature: "" });
  });

  it("refuses malformed lines, naming the field", () => {
    const bad: Array<[string, RegExp]> = [
      ["not json", /not JSON/],
      ["[]", /sequence/],
      [JSON.stringify({ ...JSON.parse(checkpointJson(checkpoint)), sequence: "-1" }), /sequence/],
      [JSON.stringify({ ...JSON.parse(checkpointJson(checkpoint)), hash: "AB".repeat(32) }), /hash/],
      [JSON.stringify({ ...JSON.parse(checkpointJson(checkpoint)), time: "yesterday" }), /time/],
      [JSON.stringify({ ...JSON.parse(checkpointJson(checkpoint)), signature: "xyz" }), /signature/],
    ];
    for (const [line, error] of bad) expect(() => parseCheckpointJson(line), line).toThrow(error);
  });

  it("signs every field: changing any one changes the signature; another pepper signs differently", () => {
    const base = signCheckpoint(unsigned, key);
    expect(base).toMatch(/^[0-9a-f]{64}$/);
    expect(signCheckpoint({ ...unsigned, sequence: 43n }, key)).not.toBe(base);
    expect(signCheckpoint({ ...unsigned, hash: "cd".repeat(32) }, key)).not.toBe(base);
    expect(signCheckpoint({ ...unsigned, time: new Date(unsigned.time.getTime() + 1) }, key)).not.toBe(base);
    expect(signCheckpoint({ ...unsigned, replica: "host/2" }, key)).not.toBe(base);
    expect(signCheckpoint(unsigned, checkpointSigningKey("another-pepper-0123456789abcdef-0123456789"))).not.toBe(base);
  });
});
