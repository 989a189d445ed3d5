import { beforeAll, it } from "vitest";

beforeAll(() => {
  throw new Error("the soak cluster did not start");
});
it("first property", () => {});
it("second property", () => {});
