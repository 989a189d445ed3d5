/**
 * P22: the request log's `redacted` mode replaces personal data wherever a body holds it. A tool
 * call's arguments are JSON text, where a line break or a tab is written `\n` or `\t`: the value
 * after it follows a letter (`n`, `t`), and detectors that want no word character before a value
 * (cards, IBANs, SSNs, IPs, phones) must still see it as the start of a line.
 */
import { describe, expect, it } from "vitest";
import type { RequestLogRow } from "../store/request-log-store.js";
import type { CallObservation } from "./observe-stage.js";
import { createRequestLogSink } from "./request-log-sink.js";
import { testObservation } from "./call-observation.testing.js";

const VALUES = { card: "4111 1111 1111 1111", iban: "DE89370400440532013000", ssn: "536-90-4399", ip: "10.20.30.40", phone: "(415) 555-2671", github: "ghp_0123456789abcdefghijABCDEFGHIJ012345" };

const observation = (argumentsJson: string): CallObservation =>
  testObservation(
    {
      stream: true,
      request: {
        model: "",
        messages: [
          { role: "user", content: [{ type: "text", text: "send it" }] },
          { role: "assistant", content: [], toolCalls: [{ id: "c1", name: "send_email", argumentsJson }] },
          { role: "tool", toolCallId: "c1", content: [{ type: "text", text: "sent" }] },
        ],
      },
      cacheStatus: "miss",
      response: { text: "", toolCalls: [{ name: "send_email", argumentsJson }], truncated: false },
    },
    "support",
  );

describe("the request log's redacted mode, a tool call's arguments", () => {
  it.each(Object.entries(VALUES))("replaces a %s written on its own line of a JSON string", (_kind, value) => {
    const rows: RequestLogRow[] = [];
    const sink = createRequestLogSink({ append: (row) => rows.push(row) }, { mode: "metadata", routes: { support: "redacted" } });
    const argumentsJson = JSON.stringify({ to: "billing", body: `Hello,\n${value}\n\tthanks` });
    sink.ended(observation(argumentsJson));
    expect(rows).toHaveLength(1);
    const stored = `${rows[0]!.request}\n${rows[0]!.response}`;
    expect(stored).toContain("send_email");
    expect(stored).not.toContain(value);
  });
});
