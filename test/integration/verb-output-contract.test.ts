/**
 * The verbs' output contracts through the whole gateway (real pipeline, cache,
 * dispatch and adapter) against the wire-faithful OpenAI fake.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { SummaryStyle } from "../../gen/ts/switchboard/v1/capability_service_pb.js";
import { createAppKey, moneyClients } from "../support/money.js";
import { useDispatchRig } from "./dispatch-rig.js";

const ROUTES = `
routes:
  plain:
    targets: [{ provider: openai, model: gpt-plain, credential: credentials/openai }]
    retry: { maxAttempts: 1 }
`;

const rig = useDispatchRig(ROUTES);

const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => "OK",
    (e: unknown) => Code[ConnectError.from(e).code],
  );

describe("Extract: a model output that failed the contract is not served again from the cache", () => {
  it("a repeat of an Extract that ended FailedPrecondition asks the provider again", async () => {
    const admin = moneyClients(rig.gw.url, rig.gw.adminKey);
    await admin.routes.createRoute({ routeId: "cached-extract", route: { targets: [{ provider: "openai", model: "gpt-cached", credential: "credentials/openai" }], cache: { ttl: { seconds: 600n } }, retry: { maxAttempts: 1 } } });
    await rig.gw.models.resolver.refresh();
    const req = { options: { route: "cached-extract" }, text: "Invoice 42", jsonSchema: { type: "object", properties: { invoice: { type: "integer" } }, required: ["invoice"] } };

    rig.fake.reset();
    rig.fake.script({ reply: { text: '{"invoice": "forty-two"}' } }, { reply: { text: '{"invoice": "still forty-two"}' } });
    expect(await codeOf(rig.app.verbs.extract(req))).toBe("FailedPrecondition");
    expect(rig.fake.requests()).toHaveLength(2);
    await new Promise((r) => setTimeout(r, 50)); // the cache writes are queued just after the answer

    // The caller retries; the model would now answer correctly.
    rig.fake.script({ reply: { text: '{"invoice": 42}' } }, { reply: { text: '{"invoice": 42}' } });
    const retry = await codeOf(rig.app.verbs.extract(req));
    // Observed without a fix: "FailedPrecondition" with 0 further provider requests — both invalid
    // replies were stored as cache entries and are replayed on every repeat for the route's TTL.
    expect([retry, rig.fake.requests().length]).toEqual(["OK", 3]);
  });
});

describe("Extract: a caller's schema pattern cannot stall the gateway (P23)", () => {
  it("validating the model's output against a catastrophic-backtracking pattern finishes: the contract failure is answered", async () => {
    rig.fake.reset();
    // A backtracking engine takes 2^100 steps on this value: the call would never answer.
    const value = `${"a".repeat(100)}!`;
    rig.fake.script({ reply: { text: JSON.stringify({ code: value }) } }, { reply: { text: JSON.stringify({ code: value }) } });
    const code = await codeOf(
      rig.app.verbs.extract({
        options: { route: "plain" },
        text: `The code is ${value}`,
        jsonSchema: { type: "object", properties: { code: { type: "string", pattern: "^(a+)+$" } }, required: ["code"] } as never,
      }),
    );
    expect(code).toBe("FailedPrecondition");
  });

  it("a pattern outside the linear-time subset is INVALID_ARGUMENT before any model call", async () => {
    rig.fake.reset();
    const code = await codeOf(
      rig.app.verbs.extract({
        options: { route: "plain" },
        text: "The code is abc",
        jsonSchema: { type: "object", properties: { code: { type: "string", pattern: "^(?=a)abc$" } } } as never,
      }),
    );
    expect([code, rig.fake.requests().length]).toEqual(["InvalidArgument", 0]);
  });
});

describe("Summarize: a model that gave no summary is not a successful, empty one", () => {
  it("a content_filter finish is FAILED_PRECONDITION naming it", async () => {
    rig.fake.reset();
    rig.fake.script({ reply: { text: "", finishReason: "content_filter" } });
    const err = await rig.app.verbs.summarize({ options: { route: "plain" }, text: "Some text the provider's filter refuses." }).then(
      () => undefined,
      (e: unknown) => ConnectError.from(e),
    );
    expect(err && [Code[err.code], err.rawMessage]).toEqual(["FailedPrecondition", "the provider's content filter stopped the summary"]);
    expect(rig.fake.requests()).toHaveLength(1);
  });

  it("an empty reply is FAILED_PRECONDITION", async () => {
    rig.fake.reset();
    rig.fake.script({ reply: { text: "  \n" } });
    expect(await codeOf(rig.app.verbs.summarize({ options: { route: "plain" }, text: "Some text." }))).toBe("FailedPrecondition");
  });
});

describe("Summarize: a reply that gave no summary is not served again from the cache", () => {
  it("a repeat of a Summarize whose model replied with nothing asks the provider again", async () => {
    const admin = moneyClients(rig.gw.url, rig.gw.adminKey);
    await admin.routes.createRoute({ routeId: "cached-summarize", route: { targets: [{ provider: "openai", model: "gpt-cached-sum", credential: "credentials/openai" }], cache: { ttl: { seconds: 600n } }, retry: { maxAttempts: 1 } } });
    await rig.gw.models.resolver.refresh();
    const req = { options: { route: "cached-summarize" }, text: "The meeting moved to Tuesday." };

    rig.fake.reset();
    rig.fake.script({ reply: { text: "  \n" } });
    expect(await codeOf(rig.app.verbs.summarize(req))).toBe("FailedPrecondition");
    expect(rig.fake.requests()).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 50)); // the cache writes are queued just after the answer

    // The caller retries; the model would now answer.
    rig.fake.script({ reply: { text: "The meeting is on Tuesday." } });
    const retry = await codeOf(rig.app.verbs.summarize(req));
    expect([retry, rig.fake.requests().length]).toEqual(["OK", 2]);
  });
});

describe("Summarize: a reply that cleans to no summary is no summary", () => {
  it("a headline reply that is only a heading mark is FAILED_PRECONDITION, and a repeat asks the provider again", async () => {
    const admin = moneyClients(rig.gw.url, rig.gw.adminKey);
    await admin.routes.createRoute({ routeId: "cached-headline", route: { targets: [{ provider: "openai", model: "gpt-cached-head", credential: "credentials/openai" }], cache: { ttl: { seconds: 600n } }, retry: { maxAttempts: 1 } } });
    await rig.gw.models.resolver.refresh();
    const req = { options: { route: "cached-headline" }, text: "The meeting moved to Tuesday.", style: SummaryStyle.HEADLINE };

    rig.fake.reset();
    rig.fake.script({ reply: { text: "#\n" } });
    // Observed without a fix: "OK" with summary "" (the heading mark stripped), and the reply cached.
    expect(await codeOf(rig.app.verbs.summarize(req))).toBe("FailedPrecondition");
    expect(rig.fake.requests()).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 50)); // the cache writes are queued just after the answer

    rig.fake.script({ reply: { text: "# Meeting moved to Tuesday" } });
    const retry = await rig.app.verbs.summarize(req).then((r) => r.summary, (e: unknown) => Code[ConnectError.from(e).code]);
    expect([retry, rig.fake.requests().length]).toEqual(["Meeting moved to Tuesday", 2]);
  });
});

describe("Extract: a number JSON text can write but a response cannot carry", () => {
  it("a reply with a number beyond a double (1e400) is repaired, not answered Internal to a JSON caller", async () => {
    const key = await createAppKey(moneyClients(rig.gw.url, rig.gw.adminKey), "acme", "json-caller");
    rig.fake.reset();
    rig.fake.script({ reply: { text: '{"total": 1e400}' } }, { reply: { text: '{"total": 1}' } });
    const res = await fetch(`${rig.gw.url}/switchboard.v1.CapabilityService/Extract`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${key.secret}` },
      body: JSON.stringify({ options: { route: "plain" }, text: "Total: 1e400", jsonSchema: { type: "object", properties: { total: { type: "number" } }, required: ["total"] } }),
    });
    const body = (await res.json()) as { data?: unknown; repaired?: boolean; code?: string };
    // Observed without a fix: 500 {"code":"internal"} — the Infinity the reply parsed to passed the
    // schema, was billed and cached, and then could not be written as the response's Struct.
    expect([res.status, body.data, body.repaired]).toEqual([200, { total: 1 }, true]);
  });
});
