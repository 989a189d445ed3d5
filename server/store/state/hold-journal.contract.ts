import { describe, expect, it } from "vitest";
import type { HoldJournal, JournaledHold } from "./hold-journal.js";
import type { StateBackend } from "./state-backend.js";
import { eachHarness, type StateBackendHarness } from "./state-backend.contract.js";

const LONG_TTL = 60_000;
const NO_LIMIT = Number.MAX_SAFE_INTEGER;
const INDEX = "open:{t}";
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A hold of `amount` on counters `a` and `b` (caps 1000), step `step` of reservation `member`. */
const hold = (member: string, amount: number, step = 1, limits: [number, number] = [1000, 1000]): JournaledHold => ({
  marker: { key: `mark:{t}:${member}`, amount: 1, limit: step },
  counters: [
    { key: "c:{t}:a", amount, limit: limits[0] },
    { key: "c:{t}:b", amount, limit: limits[1] },
  ],
});
const journal = (member: string, owner = "replica-1"): HoldJournal => ({ index: INDEX, member, owner });

/**
 * The journaled holds every `StateBackend` must implement identically (`reserveHold`,
 * `settleHold`, `openHolds`, `releaseHolds`): the budget reservations and the sweeper of dead
 * replicas' holds rely on exactly these semantics. Run by each backend's test file, beside
 * `runStateBackendContract`, with the same harness (keys without TTL are checked after each test).
 */
export function runHoldJournalContract(name: string, factory: () => StateBackendHarness | Promise<StateBackendHarness>): void {
  describe(`StateBackend hold journal contract: ${name}`, () => {
    let state: StateBackend;
    const counter = async (key: string): Promise<number | undefined> => {
      const raw = await state.get(key);
      return raw === undefined ? undefined : Number(new TextDecoder().decode(raw));
    };
    const settlement = (member: string, actual: number) => ({
      marker: `mark:{t}:${member}`,
      index: INDEX,
      member,
      add: [{ key: "c:{t}:a:spent", amount: actual }],
      replace: [
        { key: "c:{t}:a", amount: actual },
        { key: "c:{t}:b", amount: actual },
      ],
    });
    const release = (member: string, owner = "replica-1", keys = ["c:{t}:a", "c:{t}:b"]) => ({ member, owner, marker: `mark:{t}:${member}`, keys });

    eachHarness(factory, (h) => (state = h.backend));

    it("holds like reserve and journals every step under the first step's owner", async () => {
      expect(await state.reserveHold(hold("r1", 300), journal("r1"), LONG_TTL)).toEqual({ ok: true });
      expect(await state.reserveHold(hold("r1", 50, 2), journal("r1", "someone-else"), LONG_TTL)).toEqual({ ok: true });
      expect(await counter("c:{t}:a")).toBe(350);
      expect(await counter("mark:{t}:r1")).toBe(2);
      expect(await state.openHolds(INDEX)).toEqual([
        { member: "r1", owner: "replica-1", held: new Map([["c:{t}:a", 350], ["c:{t}:b", 350]]) },
      ]);
    });

    it("refuses all-or-nothing with reserve's indices (marker 0) and journals nothing", async () => {
      await state.reserveHold(hold("r1", 300), journal("r1"), LONG_TTL);
      // A retry of a step that landed: refused on its marker.
      expect(await state.reserveHold(hold("r1", 300), journal("r1"), LONG_TTL)).toEqual({ ok: false, index: 0, current: 1 });
      expect(await state.reserveHold(hold("r2", 200, 1, [1000, 400]), journal("r2"), LONG_TTL)).toEqual({ ok: false, index: 2, current: 300 });
      expect(await counter("c:{t}:a")).toBe(300);
      expect(await counter("mark:{t}:r2")).toBeUndefined();
      expect((await state.openHolds(INDEX)).map((h) => h.member)).toEqual(["r1"]);
    });

    it("settles once: replaces the journaled hold by the actual, adds the spend, drops record and marker", async () => {
      await state.reserveHold(hold("r1", 300), journal("r1"), LONG_TTL);
      await state.reserveHold(hold("r2", 100), journal("r2"), LONG_TTL);
      // It reports where it left every counter it names, as a read would find them.
      expect(await state.settleHold(settlement("r1", 120), LONG_TTL)).toEqual({
        settled: true,
        counters: new Map([["c:{t}:a:spent", 120], ["c:{t}:a", 220], ["c:{t}:b", 220]]),
      });
      expect(await counter("c:{t}:a")).toBe(220); // 100 still held by r2 + 120 spent
      expect(await counter("c:{t}:a:spent")).toBe(120);
      expect(await counter("mark:{t}:r1")).toBeUndefined();
      expect((await state.openHolds(INDEX)).map((h) => h.member)).toEqual(["r2"]);
      // A retry after a lost reply finds no marker and changes nothing.
      expect(await state.settleHold(settlement("r1", 120), LONG_TTL)).toEqual({ settled: false });
      expect(await counter("c:{t}:a")).toBe(220);
      expect(await counter("c:{t}:a:spent")).toBe(120);
      // An overage goes past the hold; the last settle empties the index.
      expect(await state.settleHold(settlement("r2", 180), LONG_TTL)).toEqual({
        settled: true,
        counters: new Map([["c:{t}:a:spent", 300], ["c:{t}:a", 300], ["c:{t}:b", 300]]),
      });
      expect(await counter("c:{t}:a")).toBe(300);
      expect(await state.openHolds(INDEX)).toEqual([]);
    });

    it("removes a counter a settle brings to zero, and creates none for a zero actual", async () => {
      await state.reserveHold(hold("r1", 300), journal("r1"), LONG_TTL);
      // Counters it removed or never created are reported as 0.
      expect(await state.settleHold(settlement("r1", 0), LONG_TTL)).toEqual({
        settled: true,
        counters: new Map([["c:{t}:a:spent", 0], ["c:{t}:a", 0], ["c:{t}:b", 0]]),
      });
      expect(await counter("c:{t}:a")).toBeUndefined();
      expect(await counter("c:{t}:a:spent")).toBeUndefined();
    });

    it("reports 0, never a negative value, for a counter that lost its hold before the settle, and removes it", async () => {
      await state.reserveHold(hold("r1", 300), journal("r1"), LONG_TTL);
      // Money lost from the counter while the hold was open (an eviction, a manual fix-up):
      // 300 + 20 − 300 − 250 would be −230.
      await state.release([{ key: "c:{t}:a", amount: 250 }], LONG_TTL);
      expect(await state.settleHold(settlement("r1", 20), LONG_TTL)).toEqual({
        settled: true,
        counters: new Map([["c:{t}:a:spent", 20], ["c:{t}:a", 0], ["c:{t}:b", 20]]),
      });
      expect(await counter("c:{t}:a")).toBeUndefined();
      expect(await counter("c:{t}:b")).toBe(20);
    });

    it("drops the index itself once its last hold settles (no empty index left to its TTL)", async () => {
      await state.reserveHold(hold("r1", 300), journal("r1"), LONG_TTL);
      await state.reserveHold(hold("r2", 100), journal("r2"), LONG_TTL);
      await state.settleHold(settlement("r1", 10), LONG_TTL);
      await state.settleHold(settlement("r2", 10), LONG_TTL);
      // `delete` tells whether the key still existed.
      expect(await state.delete(INDEX)).toBe(false);
    });

    it("admits nothing while a required key is missing, and reports every missing one", async () => {
      const requiring = (member: string, requires: string[]): JournaledHold => ({ ...hold(member, 300), requires });
      await state.reserve([{ key: "seed:{t}:a", amount: 1, limit: 1 }], LONG_TTL);
      expect(await state.reserveHold(requiring("r1", ["seed:{t}:b", "seed:{t}:a", "seed:{t}:c"]), journal("r1"), LONG_TTL)).toEqual({ ok: false, missing: [0, 2] });
      // Checked before the marker and the caps: nothing was written, not even the marker.
      expect(await counter("mark:{t}:r1")).toBeUndefined();
      expect(await counter("c:{t}:a")).toBeUndefined();
      expect(await state.openHolds(INDEX)).toEqual([]);
      expect(await state.reserveHold(requiring("r2", ["seed:{t}:a"]), journal("r2"), LONG_TTL)).toEqual({ ok: true });
      expect(await counter("c:{t}:a")).toBe(300);
      // Once present, the same hold is admitted; an expired key counts as missing.
      await state.reserve([{ key: "seed:{t}:b", amount: 1, limit: 1 }], 100);
      await state.reserve([{ key: "seed:{t}:c", amount: 1, limit: 1 }], LONG_TTL);
      expect(await state.reserveHold(requiring("r1", ["seed:{t}:b", "seed:{t}:a", "seed:{t}:c"]), journal("r1"), LONG_TTL)).toEqual({ ok: true });
      await sleep(300);
      expect(await state.reserveHold(requiring("r3", ["seed:{t}:a", "seed:{t}:b"]), journal("r3"), LONG_TTL)).toEqual({ ok: false, missing: [1] });
      expect(await counter("c:{t}:a")).toBe(600);
    });

    it("releases only listed holds still owned as stated, exactly once", async () => {
      await state.reserveHold(hold("dead", 300), journal("dead", "replica-dead"), LONG_TTL);
      await state.reserveHold(hold("dead", 40, 2), journal("dead", "replica-dead"), LONG_TTL);
      await state.reserveHold(hold("live", 100), journal("live", "replica-live"), LONG_TTL);
      await state.reserveHold(hold("odd", 5), journal("odd", "replica-dead"), LONG_TTL);
      // "odd" names a key no listed hold declares: skipped, never half released.
      expect(await state.releaseHolds(INDEX, [release("odd", "replica-dead", ["c:{t}:a"])], LONG_TTL)).toEqual([]);
      const released = await state.releaseHolds(INDEX, [release("dead", "replica-dead"), release("live", "replica-dead"), release("gone", "replica-dead")], LONG_TTL);
      expect(released).toEqual([{ member: "dead", owner: "replica-dead", held: new Map([["c:{t}:a", 340], ["c:{t}:b", 340]]) }]);
      expect(await counter("c:{t}:a")).toBe(105);
      expect((await state.openHolds(INDEX)).map((h) => h.member).sort()).toEqual(["live", "odd"]);
      expect(await state.releaseHolds(INDEX, [release("dead", "replica-dead")], LONG_TTL)).toEqual([]);
      expect(await counter("c:{t}:a")).toBe(105);
    });

    it("lets a swept hold settle without a second release, and cuts its marker's TTL", async () => {
      await state.reserveHold(hold("r1", 300), journal("r1"), LONG_TTL);
      await state.reserveHold(hold("r2", 10), journal("r2"), LONG_TTL);
      await state.releaseHolds(INDEX, [release("r1")], 150);
      expect(await counter("c:{t}:a")).toBe(10);
      // The stalled owner wakes up and settles: only its actual is added.
      expect(await state.settleHold(settlement("r1", 70), LONG_TTL)).toMatchObject({ settled: true });
      expect(await counter("c:{t}:a")).toBe(80);
      expect(await counter("c:{t}:a:spent")).toBe(70);
      await state.reserveHold(hold("r3", 1), journal("r3"), LONG_TTL);
      await state.releaseHolds(INDEX, [release("r3")], 100);
      await sleep(300);
      expect(await counter("mark:{t}:r3")).toBeUndefined();
      expect(await counter("mark:{t}:r2")).toBe(1);
    });

    it("clamps a release at zero when the counter lost money (never negative)", async () => {
      await state.reserveHold(hold("r1", 300), journal("r1"), LONG_TTL);
      await state.release([{ key: "c:{t}:a", amount: 250 }], LONG_TTL);
      await state.releaseHolds(INDEX, [release("r1")], LONG_TTL);
      expect(await counter("c:{t}:a")).toBeUndefined();
      expect(await counter("c:{t}:b")).toBeUndefined();
    });

    it("never shortens the index's TTL, and expires it after the longest hold's", async () => {
      await state.reserveHold(hold("long", 1), journal("long"), LONG_TTL);
      await state.reserveHold(hold("short", 1), journal("short"), 100);
      await sleep(300);
      expect((await state.openHolds(INDEX)).map((h) => h.member).sort()).toEqual(["long", "short"]);
      await state.reserveHold({ ...hold("x", 1), counters: [{ key: "c:{u}:a", amount: 1, limit: 10 }] }, { index: "open:{u}", member: "x", owner: "o" }, 100);
      await sleep(300);
      expect(await state.openHolds("open:{u}")).toEqual([]);
    });

    it("keeps amounts up to 2^53 − 1 exact through the journal", async () => {
      const big = Number.MAX_SAFE_INTEGER - 1;
      const huge: JournaledHold = { marker: { key: "mark:{t}:big", amount: 1, limit: 1 }, counters: [{ key: "c:{t}:a", amount: big, limit: NO_LIMIT }] };
      await state.reserveHold(huge, journal("big"), LONG_TTL);
      expect((await state.openHolds(INDEX))[0]!.held.get("c:{t}:a")).toBe(big);
      const [released] = await state.releaseHolds(INDEX, [{ ...release("big"), keys: ["c:{t}:a"] }], LONG_TTL);
      expect(released!.held.get("c:{t}:a")).toBe(big);
      expect(await counter("c:{t}:a")).toBeUndefined();
    });

    it("refuses owners and keys that the journal cannot record, writing nothing", async () => {
      await expect(state.reserveHold(hold("r1", 1), journal("r1", ""), LONG_TTL)).rejects.toThrow(RangeError);
      await expect(state.reserveHold(hold("r1", 1), journal("r1", "a\nb"), LONG_TTL)).rejects.toThrow(RangeError);
      await expect(state.reserveHold(hold("r1", 1), journal("r1"), 0)).rejects.toThrow(RangeError);
      expect(await counter("c:{t}:a")).toBeUndefined();
      expect(await state.openHolds(INDEX)).toEqual([]);
    });
  });
}
