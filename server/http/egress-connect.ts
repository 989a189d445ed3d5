import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from "node:dns";
import { Agent as HttpAgent } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import { isIP, type LookupFunction } from "node:net";
import { Agent as UndiciAgent, buildConnector, type Dispatcher } from "undici";
import { createEgressPolicy, type EgressPolicy } from "./egress-policy.js";

/**
 * A connection the egress policy refused (`egress-policy.ts`); never retried: the same address is
 * refused again (a provider call falls back to the route's next target, `dispatch/retryable.ts`).
 */
export class EgressRefusedError extends Error {
  readonly code = "ERR_EGRESS_REFUSED";
  /**
   * Why, as the policy put it: the host and address refused, and the setting that would allow it.
   * Shown to whoever set the URL (an admin write) or called through it (a model call).
   */
  readonly reason: string;
  constructor(reason: string) {
    super(`egress refused: ${reason}`);
    this.reason = reason;
    this.name = "EgressRefusedError";
  }
}

/** Every address `hostname` resolves to (default: `dns.lookup`, as Node's own connections use). */
export type ResolveAll = (hostname: string, options: LookupOptions) => Promise<LookupAddress[]>;

const systemResolve: ResolveAll = (hostname, options) =>
  new Promise((resolve, reject) => dnsLookup(hostname, { ...options, all: true }, (err, addresses) => (err ? reject(err) : resolve(addresses))));

/**
 * The outbound HTTP clients of admin-set URLs, bound to one {@link EgressPolicy}. The policy is
 * applied where the socket is opened, to the address actually dialled: a `lookup` that drops the
 * refused addresses a name resolves to (DNS rebinding: the name is resolved once, by this lookup,
 * for this connection), and a check of an IP literal, which Node connects to without any lookup.
 * Neither client follows redirects (undici's `request` has no redirect handling unless asked;
 * Node's `http.request` has none), so a 3xx to a refused address is only a status.
 */
export interface Egress {
  policy: EgressPolicy;
  /** For undici's `request` (budget alert webhooks); a keep-alive pool per origin. */
  dispatcher: Dispatcher;
  /** A keep-alive Node agent for `url`'s scheme (`http.request`: the external guardrails' Connect transport). */
  agentFor(url: string): HttpAgent;
  /** An undici connector applying the policy, for an agent of one's own (provider calls to a credential's `base_url`). */
  connector(options?: buildConnector.BuildOptions): buildConnector.connector;
}

/** Creates the {@link Egress} clients of `policy`; `resolve` replaces DNS (tests). */
export function createEgress(policy: EgressPolicy, opts: { resolve?: ResolveAll } = {}): Egress {
  const lookup = egressLookup(policy, opts.resolve ?? systemResolve);
  const literal = (host: string | null | undefined): EgressRefusedError | undefined => {
    const ip = (host ?? "").replace(/^\[(.*)\]$/, "$1");
    const reason = isIP(ip) === 0 ? undefined : policy.refusal(ip, ip);
    return reason === undefined ? undefined : new EgressRefusedError(reason);
  };
  const connector = (options: buildConnector.BuildOptions = {}): buildConnector.connector => {
    const base = buildConnector({ ...options, lookup });
    return (opts, callback) => {
      const refused = literal(opts.hostname);
      if (refused !== undefined) callback(refused, null);
      else base(opts, callback);
    };
  };
  const dispatcher = new UndiciAgent({ connect: connector() });
  // Agent options reach every connection the agent opens (the lookup); a literal host skips
  // the lookup, so `createConnection` checks it first.
  const guarded = <A extends HttpAgent>(agent: A): A => {
    const open = agent.createConnection.bind(agent);
    agent.createConnection = (options, callback) => {
      const refused = literal(options.host ?? options.hostname);
      if (refused === undefined) return open(options, callback);
      callback?.(refused, undefined as never);
      return undefined;
    };
    return agent;
  };
  let http: HttpAgent | undefined;
  let https: HttpsAgent | undefined;
  return {
    policy,
    dispatcher,
    connector,
    agentFor(url) {
      if (url.startsWith("https:")) return (https ??= guarded(new HttpsAgent({ keepAlive: true, lookup })));
      return (http ??= guarded(new HttpAgent({ keepAlive: true, lookup })));
    },
  };
}

/**
 * A `net.connect` lookup that resolves `hostname` and keeps only the addresses `policy` allows;
 * none left is an {@link EgressRefusedError} naming the first refusal. Answers in both forms
 * Node asks for (`all: true` when it races address families).
 */
export function egressLookup(policy: EgressPolicy, resolve: ResolveAll): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname, options).then(
      (addresses) => {
        const kept = addresses.filter((a) => policy.refusal(hostname, a.address) === undefined);
        if (kept.length === 0) {
          const reason = addresses.length === 0 ? `${hostname} resolved to no address` : policy.refusal(hostname, addresses[0]!.address)!;
          callback(new EgressRefusedError(reason), "", 0);
        } else if (options.all) callback(null, kept);
        else callback(null, kept[0]!.address, kept[0]!.family);
      },
      (err: NodeJS.ErrnoException) => callback(err, "", 0),
    );
  };
}

let shared: Egress | undefined;

/** The clients of the default policy (`createEgressPolicy()`), for callers given none. */
export function defaultEgress(): Egress {
  return (shared ??= createEgress(createEgressPolicy()));
}
