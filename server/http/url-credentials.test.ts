import { describe, expect, it } from "vitest";
import { withUrlCredentials } from "./url-credentials.js";

const basic = (credentials: string) => `Basic ${Buffer.from(credentials, "utf8").toString("base64")}`;

describe("withUrlCredentials", () => {
  it("moves user and password, percent-decoded, into an Authorization: Basic header", () => {
    const out = withUrlCredentials("https://al%C3%A9rts:p%40ss%3Aw@hooks.example.com:8443/budget?token=t#f", { "content-type": "application/json" });
    expect(out.url).toBe("https://hooks.example.com:8443/budget?token=t#f");
    expect(out.headers).toEqual({ "content-type": "application/json", authorization: basic("alérts:p@ss:w") });
  });

  it("sends a user without a password as `user:` (a token as the user name)", () => {
    expect(withUrlCredentials("https://TOKEN@h.example/x", {}).headers.authorization).toBe(basic("TOKEN:"));
    expect(withUrlCredentials("https://:pw@h.example/x", {}).headers.authorization).toBe(basic(":pw"));
  });

  it("keeps an Authorization the caller set, still dropping the userinfo", () => {
    const headers = { Authorization: "Bearer mine" };
    expect(withUrlCredentials("https://u:p@h.example/x", headers)).toEqual({ url: "https://h.example/x", headers });
  });

  it("leaves a URL without userinfo, or one that does not parse, as it is", () => {
    const headers = { a: "b" };
    expect(withUrlCredentials("https://h.example", headers)).toEqual({ url: "https://h.example", headers });
    expect(withUrlCredentials("not a url", headers)).toEqual({ url: "not a url", headers });
  });

  it("sends a malformed percent escape as written", () => {
    expect(withUrlCredentials("https://u%zz:p@h.example/", {}).headers.authorization).toBe(basic("u%zz:p"));
  });

  it("does not change the caller's headers", () => {
    const headers = { a: "b" };
    withUrlCredentials("https://u:p@h.example/", headers);
    expect(headers).toEqual({ a: "b" });
  });
});
