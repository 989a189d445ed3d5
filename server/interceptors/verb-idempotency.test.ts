import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, createRouterTransport, type HandlerContext, type Interceptor, type ServiceImpl } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { SwitchboardError } from "../../clients/ts/src/errors.js";
import { CapabilityService, ChatRequestSchema } from "../../gen/ts/switchboard/v1/capability_service_pb.js";
import { createLogCapture, type LogCapture } from "../../test/support/log-capture.js";
import { useMigratedDatabase } from "../../test/support/migrated-database.js";
import { createVerbIdempotencyStore, type VerbIdempotencyStore } from "../store/verb-idempotency-store.js";
import { kPrincipal } from "./context-keys.js";
import { createVerbIdempotencyInterceptor, REPLAYED_HEADER, requestFingerprint, withIdempotentReplay } from "./verb-idempotency.js";
import { testPrincipal } from "../../test/support/principal.js";


const database = useMigratedDatabase({ pool: 4 });

const principal = testPrincipal({ orgId: "org_a", teamId: "team_a", keyId: "key_a" });
const authenticated: Interceptor = (next) => (req) => {
  req.contextValues.set(kPrincipal, principal);
  return next(req);
};

/** A Chat answer carrying a name, to tell the runs apart. */
type Named = { message: { name: string } };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Resolves once `check` holds (polled every 5 ms). */
const until = async (check: () => boolean) => {
  while (!check()) await sleep(5);
};
const codeOf = (p: Promise<unknown>) => p.then(() => "ok", (e: unknown) => Code[ConnectError.from(e).code]);
/** The refusal a call ends with, as the TS client reads it (its RetryInfo decoded from the wire); undefined if it succeeded. */
const refusalOf = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => SwitchboardError.fromError(e));

/** A client of one replica: the verbs given, behind the idempotency interceptor over `store`. */
function replica(impl: Partial<ServiceImpl<typeof CapabilityService>>, store: VerbIdempotencyStore, log: LogCapture, leaseMs: number) {
  const transport = createRouterTransport(
    ({ service }) =>
      // Only the verbs given are called; the replay wrapper leaves the other methods out.
      service(CapabilityService, withIdempotentReplay(CapabilityService, impl as ServiceImpl<typeof CapabilityService>)),
    { router: { interceptors: [authenticated, createVerbIdempotencyInterceptor({ store, logger: log.logger }, { services: [CapabilityService], leaseMs })] } },
  );
  return createClient(CapabilityService, transport);
}

/** The store, counting its lease renewals. */
function countingRenewals(): { store: VerbIdempotencyStore; renewals: () => number } {
  const store = createVerbIdempotencyStore(database().db);
  let renewals = 0;
  return {
    store: {
      ...store,
      renew: (held, opts) => {
        renewals++;
        return store.renew(held, opts);
      },
    },
    renewals: () => renewals,
  };
}

describe("verb idempotency interceptor", () => {
  // Short, but with room for a loaded machine: a renewal may lag two periods before the lease lapses.
  const leaseMs = 400;

  it("keeps a live call's key however long it runs, and stops renewing when it ends", async () => {
    const log = createLogCapture();
    const { store, renewals } = countingRenewals();
    // The first run answers when the test lets it; a second run (the defect) answers at once.
    let runs = 0;
    let finish = (_name: string) => {};
    const chat = () => (++runs === 1 ? new Promise<Named>((resolve) => (finish = (name) => resolve({ message: { name } }))) : Promise.resolve({ message: { name: "second run" } }));
    const client = replica({ chat }, store, log, leaseMs);
    const request = { options: { idempotencyKey: "long-1" }, messages: [{ name: "hi" }] };

    const first = client.chat(request);
    await expect.poll(() => runs).toBe(1);
    await sleep(4 * leaseMs); // a healthy call, four leases long
    // A repeat is refused while the first runs: the provider is not called twice. It is told to
    // come back within the lease the running call keeps renewing (at most a third of it).
    const refused = await refusalOf(client.chat(request));
    expect(refused?.code).toBe(Code.Aborted);
    expect(refused?.retryDelayMs).toBeGreaterThan(0);
    expect(refused?.retryDelayMs).toBeLessThanOrEqual(Math.ceil(leaseMs / 3));
    expect(runs).toBe(1);
    finish("first");
    expect((await first).message?.name).toBe("first");
    expect((await client.chat(request)).message?.name).toBe("first");
    expect(runs).toBe(1);

    expect(renewals()).toBeGreaterThanOrEqual(4);
    const atEnd = renewals();
    await sleep(3 * leaseMs);
    expect(renewals()).toBe(atEnd);
    expect(log.text()).not.toContain("outlived its lease");
  });

  it("frees the key of a call whose replica died within about one lease, each refusal saying when to retry", async () => {
    const log = createLogCapture();
    const store = createVerbIdempotencyStore(database().db);
    let runs = 0;
    const client = replica({ chat: () => (runs++, Promise.resolve({ message: { name: "retried" } })) }, store, log, leaseMs);
    const request = { options: { idempotencyKey: "dead-1" }, messages: [{ name: "hi" }] };
    // The dead replica's claim of this very request: taken, then never renewed, completed or released.
    const id = { orgId: principal.orgId, key: "dead-1", method: "Chat", fingerprint: requestFingerprint(principal.keyId, ChatRequestSchema, create(ChatRequestSchema, request)) };
    const claimedFrom = performance.now();
    expect((await store.claim(id, { leaseMs, retentionMs: 86_400_000 })).kind).toBe("claimed");
    const claimedBy = performance.now();

    // The caller retries when each refusal says; none tells it to wait past the dead claim's lease.
    let attempts = 0;
    for (;;) {
      attempts++;
      const sentAt = performance.now();
      const refused = await refusalOf(client.chat(request));
      if (refused === undefined) break;
      expect(refused.code).toBe(Code.Aborted);
      // Only a call sent while the dead claim's lease can still run is refused (+1: the store
      // rounds up); a call sent after it is let in. The store reads its clock after the call is
      // sent, so a loaded machine only makes this easier to meet.
      expect(sentAt - claimedBy).toBeLessThan(leaseMs + 1);
      expect(refused.retryDelayMs).toBeGreaterThan(0);
      // What the lease can have left when this call was sent (+1: the store rounds up).
      expect(refused.retryDelayMs).toBeLessThanOrEqual(leaseMs - (sentAt - claimedBy) + 1);
      expect(attempts).toBeLessThan(10);
      await sleep(refused.retryDelayMs!);
    }
    // Freed no sooner than the lease. "Within about one lease" is what the two bounds above
    // assert, by cause rather than by the wall clock: no refusal tells the caller to wait past the
    // lease, and no call after it is refused. How long the loop took beyond that is this machine's
    // scheduling (a bound of 2 leases failed on a loaded 2-core runner), not the store's behaviour.
    expect(performance.now() - claimedFrom).toBeGreaterThanOrEqual(leaseMs - 5);
    expect(attempts).toBeGreaterThan(1);
    expect(runs).toBe(1);
    expect((await client.chat(request)).message?.name).toBe("retried");
    expect(runs).toBe(1);
  });

  it("keeps a long ChatStream's key until the stream ends, and stops renewing when the caller goes away", async () => {
    const log = createLogCapture();
    const { store, renewals } = countingRenewals();
    let started = 0;
    const client = replica(
      {
        chatStream: async function* (_req: unknown, ctx: HandlerContext) {
          started++;
          yield { event: { case: "delta" as const, value: { text: "one" } } };
          await sleep(4 * leaseMs);
          if (ctx.signal.aborted) return;
          yield { event: { case: "completed" as const, value: {} } };
        },
      } as Partial<ServiceImpl<typeof CapabilityService>>,
      store,
      log,
      leaseMs,
    );
    const request = (key: string) => ({ options: { idempotencyKey: key }, messages: [{ name: "hi" }] });
    const drain = async (key: string, signal?: AbortSignal) => {
      const events: string[] = [];
      for await (const e of client.chatStream(request(key), { signal })) events.push(String(e.event.case));
      return events;
    };

    const first = drain("stream-1");
    await expect.poll(() => started).toBe(1);
    await sleep(2 * leaseMs);
    expect(await codeOf(drain("stream-1"))).toBe("Aborted");
    expect(await first).toEqual(["delta", "completed"]);
    expect(started).toBe(1);
    const atEnd = renewals();
    expect(atEnd).toBeGreaterThanOrEqual(3);
    await sleep(3 * leaseMs);
    expect(renewals()).toBe(atEnd);

    // The caller goes away mid-stream: renewals stop with it.
    const abort = new AbortController();
    const cancelled = codeOf(drain("stream-2", abort.signal));
    await expect.poll(() => started).toBe(2);
    abort.abort();
    expect(await cancelled).toBe("Canceled");
    await sleep(leaseMs / 3); // a renewal already running may still land
    const atCancel = renewals();
    await sleep(3 * leaseMs);
    expect(renewals()).toBe(atCancel);
  });

  it("lets a call that lost its lease renew nothing once it reaches the store again: the taker keeps the key", async () => {
    const log = createLogCapture();
    // Each Chat answers with the name it is given, once the test lets it finish.
    const pending: Array<(name: string) => void> = [];
    const chat = { chat: () => new Promise<Named>((resolve) => pending.push((name) => resolve({ message: { name } }))) };
    const store = createVerbIdempotencyStore(database().db);
    // Replica A loses the database after its claim (its renewals fail) and gets it back once B
    // has taken the key over; what its renewals find from then on is recorded.
    let cutOff = true;
    const renewedByA: boolean[] = [];
    const a = replica(
      chat,
      {
        ...store,
        renew: async (held, opts) => {
          if (cutOff) throw new Error("connection terminated");
          const renewed = await store.renew(held, opts);
          renewedByA.push(renewed);
          return renewed;
        },
      },
      log,
      150,
    );
    const b = replica(chat, store, log, leaseMs);
    const request = { options: { idempotencyKey: "regained-1" }, messages: [{ name: "hi" }] };

    const first = a.chat(request);
    await until(() => pending.length === 1);
    // B's caller retries when told until A's lease has run out and B's call runs.
    let second = b.chat(request);
    for (let attempt = 1; pending.length < 2; attempt++) {
      expect(attempt).toBeLessThan(20);
      const refused = await Promise.race([refusalOf(second), until(() => pending.length === 2).then(() => undefined)]);
      if (refused === undefined) break;
      expect(refused.code).toBe(Code.Aborted);
      await sleep(refused.retryDelayMs!);
      second = b.chat(request);
    }

    // A reaches the store again: its next renewal finds the claim gone and stops the heartbeat.
    cutOff = false;
    await until(() => renewedByA.length > 0);
    await sleep(150);
    expect(renewedByA).toEqual([false]);
    // B still holds the key, and keeps it past A's lease: a repeat is refused, with a retry delay.
    const refused = await refusalOf(b.chat(request));
    expect(refused?.code).toBe(Code.Aborted);
    expect(refused?.retryDelayMs).toBeLessThanOrEqual(Math.ceil(leaseMs / 3));
    pending[1]!("second");
    expect((await second).message?.name).toBe("second");
    pending[0]!("first");
    expect((await first).message?.name).toBe("first");
    expect((await b.chat(request)).message?.name).toBe("second");
    expect(pending).toHaveLength(2);
  });

  it("keeps the answer of the call that took over an expired lease when the first call ends late", async () => {
    const log = createLogCapture();
    // Each Chat answers with the name it is given, once the test lets it finish.
    const pending: Array<(name: string) => void> = [];
    const chat = { chat: () => new Promise<Named>((resolve) => pending.push((name) => resolve({ message: { name } }))) };
    const store = createVerbIdempotencyStore(database().db);
    // Replica A is cut off from the store after its claim (its renewals fail), so its lease runs
    // out while its call still runs there; B takes the key over.
    const cutOff: VerbIdempotencyStore = { ...store, renew: () => Promise.reject(new Error("connection terminated")) };
    const a = replica(chat, cutOff, log, 30);
    const b = replica(chat, store, log, 30);
    const request = { options: { idempotencyKey: "slow-1" }, messages: [{ name: "hi" }] };
    const running = async (calls: number) => {
      while (pending.length < calls) await sleep(5);
    };

    const first = a.chat(request);
    await running(1);
    await sleep(60); // the first call's lease lapses
    const second = b.chat(request);
    await running(2);
    pending[1]!("second");
    expect((await second).message?.name).toBe("second");
    pending[0]!("first");
    expect((await first).message?.name).toBe("first");

    let header: Headers | undefined;
    const repeat = await b.chat(request, { onHeader: (h) => (header = h) });
    expect(repeat.message?.name).toBe("second");
    expect(header?.get(REPLAYED_HEADER)).toBe("true");
    // A's failed renewals were logged, never thrown.
    expect(log.lines().find((l) => String(l.msg).includes("renewing"))).toMatchObject({ level: "warn" });
    const lost = log.lines().find((l) => String(l.msg).includes("outlived its lease"));
    expect(lost).toMatchObject({ level: "warn", orgId: "org_a", method: "Chat" });
    expect(log.text()).not.toContain("slow-1");
  });
});
