import { it } from "vitest";

it("passes before the worker dies", () => {});
it("kills its worker, as the kernel's OOM killer would", async () => {
  process.kill(process.pid, "SIGKILL");
  await new Promise((resolve) => setTimeout(resolve, 5_000));
});
it("never runs", () => {});
