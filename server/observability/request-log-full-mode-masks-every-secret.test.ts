/**
 * P22: the request log's `full` mode keeps personal data but masks secrets. The guardrails'
 * detector knows more secret formats than the audit log's three shapes (`sb_…`, `sk-…`, `AIza…`):
 * AWS access key ids, GitHub tokens, JWTs and PEM private keys too. A caller who pastes one of
 * those into a prompt must not find it stored in `request_log` verbatim.
 */
import { describe, expect, it } from "vitest";
import type { RequestLogRow } from "../store/request-log-store.js";
import type { CallObservation } from "./observe-stage.js";
import { createRequestLogSink } from "./request-log-sink.js";
import { testObservation } from "./call-observation.testing.js";

const SECRETS = {
  aws: "AKIAIOSFODNN7EXAMPLE",
  github: "ghp_0123456789abcdefghijABCDEFGHIJ012345",
  jwt: "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
  pem: "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\n-----END PRIVATE KEY-----",
};

const observation = (text: string, answer: string): CallObservation =>
  testObservation(
    {
      stream: true,
      request: { model: "", messages: [{ role: "user", content: [{ type: "text", text }] }] },
      cacheStatus: "miss",
      response: { text: answer, toolCalls: [{ name: "deploy", argumentsJson: JSON.stringify({ token: SECRETS.github }) }], truncated: false },
    },
    "debug",
  );

describe("the request log's full mode", () => {
  it.each(Object.entries(SECRETS))("masks a %s secret the guardrails' detector knows, in the request and the response", (_kind, secret) => {
    const rows: RequestLogRow[] = [];
    const sink = createRequestLogSink({ append: (row) => rows.push(row) }, { mode: "metadata", routes: { debug: "full" } });
    sink.ended(observation(`deploy with ${secret} please, and mail jane.doe@example.com`, `Done with ${secret}.`));
    expect(rows).toHaveLength(1);
    const stored = `${rows[0]!.request}\n${rows[0]!.response}`;
    // Personal data stays in full mode (README), secrets do not.
    expect(stored).toContain("jane.doe@example.com");
    expect(stored).not.toContain(JSON.stringify(secret).slice(1, -1));
    expect(stored).not.toContain(SECRETS.github);
  });
});
