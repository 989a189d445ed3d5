import { describe, expect, it } from "vitest";
import type { RequestLogRow } from "../store/request-log-store.js";
import type { CallObservation } from "./observe-stage.js";
import { createRequestLogSink } from "./request-log-sink.js";
import { testObservation } from "./call-observation.testing.js";

/** A chat call on `route` that succeeded. */
const observation = (route: string): CallObservation =>
  testObservation({ request: { model: "", messages: [{ role: "user", content: [{ type: "text", text: "my private question" }] }] }, cacheStatus: "miss" }, route);

describe("the request log's mode of a route", () => {
  // `constructor` is a valid route alias (`^[a-z0-9][a-z0-9._-]{0,62}$`); the per-route overrides
  // come from YAML as a plain object, so a lookup by alias must read only its own keys.
  it("is the default mode for a route named like an Object.prototype member", () => {
    const rows: RequestLogRow[] = [];
    const sink = createRequestLogSink({ append: (row) => rows.push(row) }, { mode: "metadata", routes: { fast: "full" } });
    expect(sink.wantsBody?.(observation("constructor").meta)).toBe(false);
    sink.ended(observation("constructor"));
    expect(rows).toHaveLength(1);
    expect({ mode: rows[0]!.mode, request: rows[0]!.request }).toEqual({ mode: "metadata", request: null });
  });

  it("keeps nothing for such a route when the default is off", () => {
    const rows: RequestLogRow[] = [];
    const sink = createRequestLogSink({ append: (row) => rows.push(row) }, { mode: "off", routes: { fast: "metadata" } });
    sink.ended(observation("constructor"));
    expect(rows).toHaveLength(0);
  });
});
