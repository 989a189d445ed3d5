import { expect } from "vitest";
import type { TestGateway } from "./gateway.js";

/** Every usage row a test could have written: from the epoch to a minute from now. */
const everything = () => ({ start: new Date(0), end: new Date(Date.now() + 60_000) });

/**
 * What a gateway recorded for one request id, read the three ways a caller's failure report is
 * checked against: the ledger (the truth), the access line and the observe stage's request log.
 * `gateway` is asked for the gateway at each read, so a file can call this before `beforeAll` starts it.
 */
export function billedByRequest(gateway: () => TestGateway) {
  return {
    /** The ledger's summed cost, its rows and its attempt rows for a request id. */
    async billed(requestId: string): Promise<{ cost: bigint; rows: number; attempts: number }> {
      const gw = gateway();
      await gw.money.ledger.flush();
      const rows = (await gw.money.usage.list({ ...everything(), requestId, limit: 100 })).items;
      return { cost: rows.reduce((n, r) => n + r.costMicros, 0n), rows: rows.length, attempts: rows.filter((r) => r.attempt > 0).length };
    },

    /** The access line of a request id (written once the answer or stream has ended). */
    async accessLine(requestId: string) {
      const gw = gateway();
      await expect.poll(() => gw.log.lines().filter((l) => l.msg === "rpc" && l.requestId === requestId).length).toBe(1);
      return gw.log.lines().find((l) => l.msg === "rpc" && l.requestId === requestId)!;
    },

    /**
     * The request log rows of a request id (one per model call): attempts and cost. With `calls`,
     * waits for exactly that many; else for at least one.
     */
    async requestLogRows(requestId: string, calls?: number) {
      const gw = gateway();
      const count = async () => {
        await gw.requestLog!.flush();
        return (await gw.database.db.selectFrom("request_log").select("request_id").where("request_id", "=", requestId).execute()).length;
      };
      if (calls === undefined) await expect.poll(count).toBeGreaterThan(0);
      else await expect.poll(count).toBe(calls);
      const rows = await gw.database.db.selectFrom("request_log").select(["attempts", "cost_micros_usd"]).where("request_id", "=", requestId).execute();
      return rows.map((r) => ({ attempts: Number(r.attempts), cost: BigInt(r.cost_micros_usd) }));
    },
  };
}
