import { fromJson, type JsonValue } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { GuardrailPolicySchema } from "../../gen/ts/switchboard/v1/guardrail_service_pb.js";
import type { CallMeta } from "../pipeline/model-call.js";
import { refreshInBackground, serialRefresh } from "../runtime/snapshot-refresh.js";
import type { GuardrailPolicyRecord, GuardrailPolicyStore } from "../store/guardrail-policy-store.js";
import { compilePolicy, type CompiledPolicy } from "./policy.js";

/** The resource name of a stored policy. */
export function policyName(record: Pick<GuardrailPolicyRecord, "orgName" | "policyId">): string {
  return record.orgName === null ? `guardrail-policies/${record.policyId}` : `orgs/${record.orgName}/guardrail-policies/${record.policyId}`;
}

/** Options of {@link createPolicyResolver}. */
export interface PolicyResolverOptions {
  store: Pick<GuardrailPolicyStore, "version" | "loadEnabled">;
  /** How long a snapshot is trusted before the next call checks for changes (default 1 s). */
  pollMs?: number;
  /** Told when a check fails or a stored policy does not compile (the last good snapshot keeps serving). */
  onError?: (err: unknown) => void;
  /** Epoch ms (default `Date.now`). */
  now?: () => number;
  /** Longest a call waits for the very first load before failing Unavailable (default 2 s). */
  firstLoadTimeoutMs?: number;
}

/** The policies in force for a model call, from an in-process snapshot that follows the database. */
export interface PolicyResolver {
  /**
   * Every enabled policy attached to the call's org, team, key or route. An org's own policy
   * applies only to its org's calls, even when attached to a global route. Waits for the first
   * load (so no call slips through before the policies are known; Unavailable when it cannot
   * finish in time); afterwards answers from memory, starting a background version check when the
   * snapshot is older than `pollMs`, so a slow or hung database never delays a call.
   */
  forCall(meta: Pick<CallMeta, "caller" | "route">): Promise<CompiledPolicy[]>;
  /**
   * What {@link forCall} would answer, without waiting: undefined until the first load is done.
   * Starts the same background version check, so callers that only peek still follow changes.
   */
  peek(meta: Pick<CallMeta, "caller" | "route">): CompiledPolicy[] | undefined;
  /** Checks for changes now and reloads if any (after a write on this replica, tests). */
  refresh(): Promise<void>;
}

interface Indexed {
  policy: CompiledPolicy;
  ownerOrgId: string | null;
}

/**
 * Creates a resolver that checks the store's version when its snapshot is older than `pollMs`
 * (started by the next call, in the background: no timer, nothing to close) and recompiles every
 * enabled policy when it moved, so a change on any replica is enforced by every replica within
 * `pollMs` plus one query of its traffic resuming. Until the first load succeeds, calls fail
 * closed (Unavailable); after that a database outage keeps the last snapshot (policies keep
 * applying) and is retried once per `pollMs`.
 */
export function createPolicyResolver(opts: PolicyResolverOptions): PolicyResolver {
  const now = opts.now ?? Date.now;
  const pollMs = opts.pollMs ?? 1_000;
  let index: Map<string, Indexed[]> | undefined;
  let seen: string | undefined;
  let checkedAt = 0;

  const reload = async () => {
    const version = await opts.store.version();
    if (version === seen && index !== undefined) return;
    const next = new Map<string, Indexed[]>();
    for (const record of await opts.store.loadEnabled()) {
      let policy: CompiledPolicy;
      try {
        const message = fromJson(GuardrailPolicySchema, record.spec as JsonValue, { ignoreUnknownFields: true });
        message.name = policyName(record);
        policy = compilePolicy(message);
      } catch (err) {
        opts.onError?.(err);
        continue;
      }
      for (const a of record.attachments) {
        const key = a.kind === "route" ? `route:${a.id ?? "*"}:${a.alias ?? ""}` : `${a.kind}:${a.id ?? ""}`;
        const list = next.get(key) ?? [];
        list.push({ policy, ownerOrgId: record.orgId });
        next.set(key, list);
      }
    }
    index = next;
    seen = version;
  };
  const refresh = serialRefresh(() =>
    reload().finally(() => {
      checkedAt = now();
    }),
  );

  const firstLoad = async () => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new ConnectError("guardrail policies could not be loaded yet; retry shortly", Code.Unavailable)), opts.firstLoadTimeoutMs ?? 2_000);
    });
    try {
      // Calls waiting for the first load share it.
      await Promise.race([refresh.current() ?? refresh(), timeout]);
    } catch (err) {
      if (err instanceof ConnectError) throw err;
      opts.onError?.(err);
      throw new ConnectError("guardrail policies could not be loaded; retry shortly", Code.Unavailable);
    } finally {
      clearTimeout(timer);
    }
  };

  /** Starts a background version check when the snapshot is older than `pollMs`. */
  const checkIfStale = () => {
    if (now() - checkedAt >= pollMs) refreshInBackground(refresh, opts.onError);
  };
  const lookup = (meta: Pick<CallMeta, "caller" | "route">): CompiledPolicy[] => {
    const org = meta.caller?.orgId;
    const keys = [`route:*:${meta.route}`];
    if (meta.caller !== undefined) keys.push(`org:${org}`, `team:${meta.caller.teamId}`, `key:${meta.caller.keyId}`, `route:${org}:${meta.route}`);
    const out = new Map<string, CompiledPolicy>();
    for (const key of keys) {
      for (const { policy, ownerOrgId } of index?.get(key) ?? []) {
        if (ownerOrgId === null || ownerOrgId === org) out.set(policy.name, policy);
      }
    }
    return [...out.values()];
  };

  return {
    async forCall(meta) {
      if (index === undefined) await firstLoad();
      else checkIfStale();
      return lookup(meta);
    },
    peek(meta) {
      if (index === undefined) return undefined;
      checkIfStale();
      return lookup(meta);
    },
    refresh,
  };
}
