import { Code, ConnectError } from "@connectrpc/connect";
import type { Clock } from "../clock.js";
import { withRetryInfo } from "../errors/retry-info.js";
import type { Logger } from "../observability/logger.js";
import type { KeyCredentialRecord, KeyStore } from "../store/key-store.js";
import type { ClientAddress } from "./client-address.js";
import { createKeyCache, type CachedKey } from "./key-cache.js";
import { parseSecret } from "./key-format.js";
import { createLastUsedRecorder } from "./last-used.js";
import type { Principal } from "./principal.js";
import { createRefusalCache } from "./refusal-cache.js";
import { scopeFromName } from "./scopes.js";
import { createSecretDigestMemo } from "./secret-digest-memo.js";
import { hashesEqual } from "./secret-hash.js";
import { createUnknownKeyThrottle } from "./unknown-key-throttle.js";

/** Dependencies of {@link createAuthenticator}. */
export interface AuthenticatorDeps {
  keys: Pick<KeyStore, "findBySecretHmac" | "touchLastUsed">;
  /** The HMAC key; never logged. */
  pepper: string;
  clock: Clock;
  logger: Logger;
}

/** Options of {@link createAuthenticator}; the defaults are the documented behaviour. */
export interface AuthenticatorOptions {
  /**
   * How long a validated key is trusted without asking the database (default 5 000 ms). This is
   * the revocation bound: a key revoked on one replica is refused by every other replica at most
   * this long after the revocation commits (on the revoking replica, at once).
   *
   * A key used again in the last fifth of that time is answered from the cache and looked up in
   * the background (refresh ahead), so a key used at least once a fifth of the TTL (1 s by
   * default) never waits for the database; its entry's age still counts from when the database
   * was asked, so the bound holds.
   */
  cacheTtlMs?: number;
  /**
   * While the database is unreachable, a key validated less than this long ago keeps working from
   * the cache (default 300 000 ms: 5 min). Past it, or for a key never seen, callers get
   * `Unavailable` — an outage never looks like a revocation (P8).
   */
  maxStaleMs?: number;
  /** Keys cached per replica (default 10 000); least recently used evicted first. */
  maxEntries?: number;
  /**
   * How long a secret the database found no usable key for (unknown, revoked, expired, rotated
   * out) is refused without asking it again, counted from the lookup (default `cacheTtlMs`, at
   * most 5 000 ms). Without it a client stuck on a revoked key, or anyone repeating a well-formed
   * unknown one, costs a query per request; with it, one per this interval per replica (0.2/s).
   * A longer one would save nothing measurable and lengthen the one way it can refuse a usable
   * key: a key that became usable after its refusal. That is a key whose expiry was lifted
   * (forget() drops its refusals here at once; other replicas see it within this, never longer
   * than the `cacheTtlMs` promised for every change), or a secret presented before its key
   * existed — which takes knowing it in advance: CreateKey and RotateKey return a new 256-bit
   * secret only once it is committed, so only a guess (2^-256 a try) or a configured bootstrap
   * key can, and that one is installed only on a database holding no key at all (a first start,
   * before the replica serves); either way the refusal ends within this TTL. Only answers are
   * remembered: a lookup that failed (outage, timeout, slots full) is `Unavailable`, leaves nothing.
   */
  refusalTtlMs?: number;
  /**
   * Refusals cached per replica (default 10 000, ≈ 2 MB), least recently used evicted first, apart
   * from the keys: anyone can send distinct well-formed secrets, and they must neither grow memory
   * nor evict validated keys. (Each distinct one still costs a lookup: `unknownKeyBurst` bounds them per address.)
   */
  maxRefusals?: number;
  /**
   * Lookups of secrets this replica has no entry for that one client address (IPv6: its /64) may
   * start at once (default 20; 0: no per-address bound). A lookup's token comes back when it found
   * a key (revoked, expired and rotated-out ones too) or could not be answered, so only secrets
   * matching no key use tokens up; beyond them the caller gets `ResourceExhausted` with
   * `google.rpc.RetryInfo`, without a lookup. Keys in the cache are answered before this is asked,
   * and calls joining a lookup already in flight for their secret take no token; more than this
   * many distinct uncached keys at once from one address are refused alike (told to retry).
   *
   * Why a per-address bound: the format's checksum is a public CRC32, so a random secret with a
   * valid one costs nothing to make, and each distinct one misses both caches — the refusal cache
   * only catches repeats, and a secret carries no key id a negative cache could hold (a "known id,
   * wrong secret" is just another unknown secret). A keyed tag in newly minted secrets would let
   * the gateway refuse forgeries offline, but not the keys already issued, which a flood would then
   * imitate. What tells a flood from a replica's callers before the database is asked is where it
   * comes from: one address costs at most `unknownKeyBurst` lookups at once and
   * `unknownKeysPerMinute` a minute, and the `maxConcurrentLookups` slots stay free for everyone
   * else. The address is the client's as `server.trustedProxies` resolves it
   * (`auth/client-address.ts`): the socket's, or behind a listed proxy the `X-Forwarded-For`
   * client it vouches for; from any other peer the header is ignored, as anyone can send one. A
   * call whose address is unknown (empty: a client that reset its connection before its peer was
   * read) is counted too, all such calls under one shared address, never let through unbounded.
   * Limits: behind a proxy not listed, all its clients share its bucket — a key this replica has
   * not cached then waits with them, cached keys do not (a throttled call that carried
   * `X-Forwarded-For` from an unlisted peer logs a warning, at most once a minute, naming the
   * setting); and a flood from many addresses can still fill the slots (new keys get
   * `Unavailable`, cached ones work, as before).
   */
  unknownKeyBurst?: number;
  /** Tokens given back to each address per minute, continuously (default 60: one a second). */
  unknownKeysPerMinute?: number;
  /** Client addresses the throttle tracks (default 10 000, ≈ 1 MB); the one quiet longest is forgotten first. */
  maxThrottledAddresses?: number;
  /** A database lookup slower than this counts as an outage (default 2 000 ms). */
  lookupTimeoutMs?: number;
  /** After a failed lookup, skip the database for this long (default 1 000 ms), so an outage costs callers no waiting. */
  outageBackoffMs?: number;
  /**
   * Lookups of keys this replica has no entry for, in flight at most (default 64); beyond it, new
   * ones fail fast with `Unavailable`. A cached key's lookup is never refused by it: anyone with a
   * few addresses (one holds at most `unknownKeyBurst`) can fill these slots with well-formed
   * unknown keys, and a key revoked elsewhere must not then be served from its stale entry while
   * the database answers (P19). The cache's size bounds those.
   */
  maxConcurrentLookups?: number;
  /** At most one `last_used_at` write per key per this interval (default 60 000 ms). */
  lastUsedIntervalMs?: number;
}

/** Turns a presented bearer secret into a {@link Principal}. */
export interface Authenticator {
  /**
   * Resolves `secret` or throws a `ConnectError`: `Unauthenticated` (one message for malformed,
   * unknown, expired, revoked and rotated-out keys alike), `ResourceExhausted` with
   * `google.rpc.RetryInfo` (`client` used up its lookups of unknown secrets: `unknownKeyBurst`)
   * or `Unavailable` (the database cannot be asked and the key is not usable from the cache).
   * `client` is the caller's address (`auth/client-address.ts`), or just the address; unset or
   * empty: unknown, throttled with every other call whose address is unknown.
   */
  authenticate(secret: string, client?: ClientAddress | string): Promise<Principal>;
  /** Forgets a key on this replica at once (after it was revoked, rotated or changed here). */
  forget(keyId: string): void;
}

/** The one message for every authentication failure: it must not tell which check failed. */
export const UNAUTHENTICATED_MESSAGE = "missing or invalid API key: send a valid key as 'authorization: Bearer <key>'";
const UNAVAILABLE_MESSAGE = "authentication is temporarily unavailable; retry later";
const THROTTLED_MESSAGE = "too many failed authentication attempts from this address; retry after the delay given";
/**
 * The throttle's one bucket for calls whose client address is unknown. Not an IP address, so no
 * client's can be it; a client that hides its address shares this bucket with every other.
 */
const UNKNOWN_CLIENT = "unknown";
/** The warning about `X-Forwarded-For` from an unlisted peer is logged at most once per this. */
const FORWARDED_WARNING_INTERVAL_MS = 60_000;

/**
 * Refusals of a secret that matched a key — revoked, expired, rotated out: the caller holds (or
 * held) a real key, which the audit log records each time (`refusal-record.ts`), where a secret
 * matching no key may be one of a flood and is summarised. The caller is told nothing of it.
 */
const KNOWN_KEY_REFUSALS = new WeakSet<object>();

/** Whether `err` is the authenticator's refusal of a secret that matched a key (see `KNOWN_KEY_REFUSALS`). */
export function refusedAKnownKey(err: unknown): boolean {
  return typeof err === "object" && err !== null && KNOWN_KEY_REFUSALS.has(err);
}

/** The lookup failed for a reason that is not the key's fault. */
class LookupUnavailable extends Error {}

/**
 * Creates the gateway's authenticator: format and checksum check (no I/O), HMAC, a short-lived
 * cache of validated keys and one of refusals, a per-address bound on lookups of unknown secrets,
 * and a database lookup with single flight per secret, a timeout and a bound on concurrent lookups. The RPC interceptor and the OpenAI surface
 * share one instance per replica.
 */
export function createAuthenticator(deps: AuthenticatorDeps, opts: AuthenticatorOptions = {}): Authenticator {
  const ttlMs = opts.cacheTtlMs ?? 5_000;
  const maxStaleMs = opts.maxStaleMs ?? 300_000;
  const lookupTimeoutMs = opts.lookupTimeoutMs ?? 2_000;
  const outageBackoffMs = opts.outageBackoffMs ?? 1_000;
  const maxConcurrent = opts.maxConcurrentLookups ?? 64;
  const cache = createKeyCache(opts.maxEntries ?? 10_000);
  // A secret's HMAC is in at most one of the two: each answer replaces what the other held.
  const refusals = createRefusalCache({ maxEntries: opts.maxRefusals ?? 10_000, ttlMs: opts.refusalTtlMs ?? Math.min(ttlMs, 5_000) });
  // The HMAC of a secret seen a moment ago is remembered (see the memo for why that is safe).
  const digestOf = createSecretDigestMemo(deps.pepper);
  const throttle = createUnknownKeyThrottle({
    burst: opts.unknownKeyBurst ?? 20,
    perMinute: opts.unknownKeysPerMinute ?? 60,
    maxAddresses: opts.maxThrottledAddresses ?? 10_000,
  });
  const lastUsed = createLastUsedRecorder(deps, { intervalMs: opts.lastUsedIntervalMs ?? 60_000 });
  // Each query in flight with when it was asked: a caller that joins it gets that time, so an
  // entry's age never counts from later than the question its record answers.
  // A query asked before the last forget() is not joined: its record may predate the revocation.
  const inFlight = new Map<string, { answer: Promise<KeyCredentialRecord | undefined>; askedAt: number; generation: number }>();
  // Outage state: after a failed lookup the database is skipped for `outageBackoffMs`; then one
  // probe at a time may wait for it while everyone else is answered from the cache at once.
  let skipDatabaseUntil = 0;
  let outage = false;
  let probing = false;
  /** Lookups in flight of keys with no cache entry (bounded by `maxConcurrentLookups`). */
  let strangers = 0;
  // Refresh ahead from four fifths of the TTL: a key is then looked up at most once per 0.8 TTL,
  // so the database sees at most 1.25× the lookups it sees without it, whatever the traffic. (At
  // half the TTL a key used every 0.6 TTL was looked up on every call instead of every other one,
  // which measured slower where Postgres shares the gateway's cores: bench/README.md, 50 ms upstream.)
  // A refresh slower than the fifth left is joined by the call that finds the entry expired.
  const refreshAfterMs = ttlMs * 0.8;
  // Bumped by forget(): a lookup that started before it must not put back what it forgot (the
  // record it read may predate the revocation that made this replica forget the key).
  let forgotten = 0;
  let forwardedWarnedAt: number | undefined;

  /**
   * Tells the operator, once a minute at most, that throttled calls came through a proxy the
   * gateway does not trust: all its clients then share its bucket, and one flood refuses them all.
   */
  const warnForwardedIgnored = (peer: string, now: number): void => {
    if (forwardedWarnedAt !== undefined && now >= forwardedWarnedAt && now - forwardedWarnedAt < FORWARDED_WARNING_INTERVAL_MS) return;
    forwardedWarnedAt = now;
    deps.logger.warn(
      { peer },
      "unknown-key throttle refused a call that carried x-forwarded-for from a peer not in SWITCHBOARD_TRUSTED_PROXIES (server.trustedProxies): " +
        "the header was ignored, so every client behind that peer shares its bucket; if it is your reverse proxy or load balancer, list its address there",
    );
  };

  /** The one refusal; `knownKey`: the secret matched a key, marked for the audit log (never told to the caller). */
  const unauthenticated = (knownKey = false) => {
    const err = new ConnectError(UNAUTHENTICATED_MESSAGE, Code.Unauthenticated);
    if (knownKey) KNOWN_KEY_REFUSALS.add(err);
    return err;
  };

  const lookup = async (hmac: string, known: boolean): Promise<Found> => {
    // A backoff ending further off than `outageBackoffMs` was set before the clock stepped back: over.
    const backoffLeft = skipDatabaseUntil - deps.clock.now();
    if (outage && ((backoffLeft > 0 && backoffLeft <= outageBackoffMs) || probing)) throw new LookupUnavailable("database unreachable");
    const probe = outage;
    let pending = inFlight.get(hmac);
    if (pending === undefined || pending.generation !== forgotten) {
      if (!known && strangers >= maxConcurrent) throw new LookupUnavailable("too many lookups in flight");
      const query = { answer: deps.keys.findBySecretHmac(hmac), askedAt: deps.clock.now(), generation: forgotten };
      pending = query;
      inFlight.set(hmac, query);
      if (!known) strangers++;
      // The count stays until the query settles, even after callers gave up waiting, so the
      // bound above counts every query really in flight.
      const settled = () => {
        if (inFlight.get(hmac) === query) inFlight.delete(hmac);
        if (!known) strangers--;
      };
      query.answer.then(settled, settled);
    }
    const { answer, askedAt } = pending;
    if (probe) probing = true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new LookupUnavailable(`no answer within ${lookupTimeoutMs} ms`)), lookupTimeoutMs);
    });
    try {
      const record = await Promise.race([answer, timeout]);
      if (outage) {
        outage = false;
        deps.logger.info("key lookups reach the database again");
      }
      return { record, askedAt };
    } catch (err) {
      skipDatabaseUntil = deps.clock.now() + outageBackoffMs;
      if (!outage) {
        outage = true;
        const reason = err instanceof Error ? err.message : String(err);
        deps.logger.warn({ reason, maxStaleMs }, "key lookups cannot reach the database; serving recently validated keys from cache");
      }
      throw new LookupUnavailable("lookup failed", { cause: err });
    } finally {
      clearTimeout(timer);
      if (probe) probing = false;
    }
  };

  /** Checks what the cache cannot vouch for by age: expiry and rotation grace, against now. */
  const accept = (hmac: string, entry: CachedKey, now: number, fresh: boolean): Principal => {
    if ((entry.expiresAt !== undefined && now >= entry.expiresAt) || (entry.graceEndsAt !== undefined && now >= entry.graceEndsAt)) {
      cache.delete(hmac);
      throw unauthenticated(true);
    }
    if (fresh) lastUsed.record(entry.principal.keyId);
    return entry.principal;
  };

  /**
   * Caches what a lookup asked at `askedAt` found, a usable key or a refusal: its age counts from
   * the question, not the answer, so a change committed while the query ran is still seen within
   * the TTL.
   */
  const remember = (hmac: string, { record, askedAt }: Found, generation: number): CachedKey | undefined => {
    const entry = record === undefined ? undefined : toEntry(record, hmac, askedAt);
    if (entry === undefined) {
      cache.delete(hmac);
      if (generation === forgotten) refusals.add(hmac, askedAt, record?.id);
    } else if (generation === forgotten) {
      refusals.delete(hmac);
      cache.set(hmac, entry);
    }
    return entry;
  };

  /** Looks a cached key up again in the background; a failure leaves the entry to age out. */
  const refreshAhead = (hmac: string): void => {
    // A query for this key already in flight will renew it; during an outage the request path's
    // probe asks the database, one at a time.
    if (inFlight.has(hmac) || outage) return;
    const generation = forgotten;
    lookup(hmac, true).then(
      (found) => void remember(hmac, found, generation),
      () => undefined,
    );
  };

  return {
    async authenticate(secret, client) {
      if (parseSecret(secret) === undefined) throw unauthenticated();
      const hmac = digestOf(secret);
      const now = deps.clock.now();
      const cached = cache.get(hmac);
      // An entry fetched "after" now was fetched before the wall clock stepped back: its age is
      // unknown, so it is not trusted (else a revoked key would work for the step on top of the TTL).
      if (cached !== undefined && now >= cached.fetchedAt && now - cached.fetchedAt < ttlMs) {
        const principal = accept(hmac, cached, now, true);
        if (now - cached.fetchedAt >= refreshAfterMs) refreshAhead(hmac);
        return principal;
      }
      if (cached === undefined && refusals.has(hmac, now)) throw unauthenticated(refusals.matchedKey(hmac));
      // A key with an entry (stale or not) was valid here: only secrets without one are throttled,
      // and only a call that starts a query (one joining a query in flight costs the database nothing).
      // A call whose address is unknown is counted too, under one address shared by all of them:
      // a client must not be able to skip its count by hiding where it comes from.
      const joins = inFlight.get(hmac)?.generation === forgotten;
      const address = typeof client === "string" ? client : client?.address;
      const throttled = cached === undefined && !joins ? (address === undefined || address === "" ? UNKNOWN_CLIENT : address) : undefined;
      if (throttled !== undefined) {
        const waitMs = throttle.take(throttled, now);
        if (waitMs > 0) {
          if (typeof client === "object" && client.forwardedForIgnored) warnForwardedIgnored(throttled, now);
          throw withRetryInfo(new ConnectError(THROTTLED_MESSAGE, Code.ResourceExhausted), waitMs);
        }
      }
      const generation = forgotten;
      let found: Found;
      try {
        found = await lookup(hmac, cached !== undefined);
        if (throttled !== undefined && found.record !== undefined) throttle.giveBack(throttled);
      } catch (err) {
        if (throttled !== undefined) throttle.giveBack(throttled);
        if (!(err instanceof LookupUnavailable)) throw err;
        if (cached !== undefined && now - cached.fetchedAt < maxStaleMs) return accept(hmac, cached, now, false);
        throw new ConnectError(UNAVAILABLE_MESSAGE, Code.Unavailable);
      }
      const entry = remember(hmac, found, generation);
      if (entry === undefined) throw unauthenticated(found.record !== undefined);
      return accept(hmac, entry, deps.clock.now(), true);
    },
    forget(keyId) {
      forgotten++;
      cache.forgetKey(keyId);
      refusals.forgetKey(keyId);
    },
  };
}

/** What a lookup found, and when the query that found it was asked. */
interface Found {
  record: KeyCredentialRecord | undefined;
  askedAt: number;
}

/**
 * The cache entry for a key usable at `now`, or `undefined` for a revoked one, one expired or out
 * of its grace by then, or a hash that matches neither secret.
 */
function toEntry(record: KeyCredentialRecord, hmac: string, now: number): CachedKey | undefined {
  if (record.state !== "active") return undefined;
  let graceEndsAt: number | undefined;
  if (!hashesEqual(record.secretHmac, hmac)) {
    const previous = record.previousSecretHmac;
    if (previous === null || record.previousSecretExpiresAt === null || !hashesEqual(previous, hmac)) return undefined;
    graceEndsAt = record.previousSecretExpiresAt.getTime();
  }
  // Refused as at the question, like a revoked key: so its refusal is remembered too.
  if ((record.expiresAt !== null && now >= record.expiresAt.getTime()) || (graceEndsAt !== undefined && now >= graceEndsAt)) return undefined;
  const principal: Principal = {
    orgId: record.orgId,
    teamId: record.teamId,
    keyId: record.id,
    keyName: `orgs/${record.orgName}/teams/${record.teamName}/keys/${record.name}`,
    scopes: new Set(record.scopes.map(scopeFromName).filter((s) => s !== undefined)),
    allowedRoutes: record.allowedRoutes,
    allowedModels: record.allowedModels,
    tags: record.tags,
    expiresAt: record.expiresAt?.getTime() ?? null,
  };
  return {
    principal,
    fetchedAt: now,
    ...(record.expiresAt !== null ? { expiresAt: record.expiresAt.getTime() } : {}),
    ...(graceEndsAt !== undefined ? { graceEndsAt } : {}),
  };
}
