import { it } from "vitest";

throw new Error("REDIS_URL not set");
it("never collected", () => {});
