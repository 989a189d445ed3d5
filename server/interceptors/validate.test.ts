import { create, type DescMessage } from "@bufbuild/protobuf";
import { createValidator } from "@bufbuild/protovalidate";
import { describe, expect, it } from "vitest";
import { ClassifyRequestSchema, ExtractRequestSchema, AnswerRequestSchema } from "../../gen/ts/switchboard/v1/capability_service_pb.js";
import { QueryUsageRequestSchema } from "../../gen/ts/switchboard/v1/usage_service_pb.js";
import { RequestOptionsSchema } from "../../gen/ts/switchboard/v1/common_pb.js";
import { REFLECTED_FILES } from "../schema.js";

const validator = createValidator();

function ruleIds(schema: DescMessage, init: object): string[] {
  const result = validator.validate(schema, create(schema, init as never));
  if (result.kind === "error") throw result.error;
  return result.kind === "valid" ? [] : result.violations.map((v) => v.ruleId);
}

describe("the schema's protovalidate rules", () => {
  it("compile for every request and response message of every service", () => {
    const failures: string[] = [];
    for (const file of REFLECTED_FILES) {
      for (const service of file.services) {
        for (const method of service.methods) {
          for (const schema of [method.input, method.output]) {
            const result = validator.validate(schema, create(schema));
            if (result.kind === "error") failures.push(`${schema.typeName}: ${result.error.message}`);
          }
        }
      }
    }
    expect(failures).toEqual([]);
  });

  it("enforce the CEL rules: unique labels and sources, ordered time ranges", () => {
    const labels = [{ name: "spam" }, { name: "spam" }];
    expect(ruleIds(ClassifyRequestSchema, { text: "x", labels })).toEqual(["classify.labels.unique"]);
    expect(ruleIds(ClassifyRequestSchema, { text: "x", labels: [{ name: "spam" }, { name: "ham" }] })).toEqual([]);
    const sources = [
      { id: "a", text: "one" },
      { id: "a", text: "two" },
    ];
    expect(ruleIds(AnswerRequestSchema, { question: "q?", sources })).toEqual(["answer.sources.unique"]);
    const t = (seconds: number) => ({ seconds: BigInt(seconds) });
    expect(ruleIds(QueryUsageRequestSchema, { startTime: t(100), endTime: t(50) })).toEqual(["query_usage.range"]);
    expect(ruleIds(QueryUsageRequestSchema, { startTime: t(50), endTime: t(100) })).toEqual([]);
  });

  it("bound the common request options", () => {
    expect(ruleIds(RequestOptionsSchema, { route: "Fast Route" })).toEqual(["string.pattern"]);
    expect(ruleIds(RequestOptionsSchema, { route: "fast", temperature: 2.5 })).toEqual(["float.gte_lte"]);
    expect(ruleIds(RequestOptionsSchema, { maxOutputTokens: 0 })).toEqual(["uint32.gte_lte"]);
    expect(ruleIds(RequestOptionsSchema, { tags: { feature: "search" } })).toEqual([]);
    expect(ruleIds(RequestOptionsSchema, { tags: { "bad key": "v" } })).toEqual(["string.pattern"]);
  });

  it("require Extract's schema", () => {
    expect(ruleIds(ExtractRequestSchema, { text: "invoice 42" })).toEqual(["required"]);
  });
});
