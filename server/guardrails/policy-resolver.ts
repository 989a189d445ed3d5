import { fromJson, type JsonValue } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { GuardrailPolicySchema } from "../../gen/ts/switchboard/v1/guardrail_service_pb.js";
import { configurationFault } from "../errors/configuration-fault.js";
import type { CallMeta } from "../pipeline/model-call.js";
import { pollRefresh, refreshInBackground, serialRefresh } from "../runtime/snapshot-refresh.js";
import type { GuardrailPolicyRecord, GuardrailPolicyStore } from "../store/guardrail-policy-store.js";
import { compilePolicy, type CompiledPolicy } from "./policy.js";

/** The resource name of a stored policy. */
export function policyName(record: Pick<GuardrailPolicyRecord, "orgName" | "policyId">): string {
  return record.orgName === null ? `guardrail-policies/${record.policyId}` : `orgs/${record.orgName}/guardrail-policies/${record.policyId}`;
}

/** Options of {@link createPolicyResolver}. */
export interface PolicyResolverOptions {
  store: Pick<GuardrailPolicyStore, "version" | "loadEnabled">;
  /** How often the snapshot is checked for changes (default 1 s): the bound on how stale a replica is. */
  pollMs?: number;
  /** Told when a check fails (the last good snapshot keeps serving). */
  onError?: (err: unknown) => void;
  /**
   * Told, once per snapshot that holds it, of an enabled policy that does not compile (`name`, and
   * why): the calls it governs are refused until it is fixed, disabled or deleted.
   */
  onBroken?: (name: string, err: unknown) => void;
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
   * snapshot is older than `pollMs`, so a slow or hung database never delays a call. Rejects with
   * FailedPrecondition when one of them does not compile (see {@link brokenPolicyError}).
   */
  forCall(meta: Pick<CallMeta, "caller" | "route">): Promise<CompiledPolicy[]>;
  /**
   * What {@link forCall} would answer, without waiting: undefined until the first load is done,
   * and when a policy that does not compile governs the call (so the caller asks `forCall`, which
   * refuses it). Starts the same background version check, so callers that only peek still follow changes.
   */
  peek(meta: Pick<CallMeta, "caller" | "route">): CompiledPolicy[] | undefined;
  /** How many enabled policies of the snapshot do not compile (the `switchboard_guardrail_policies_broken` gauge). */
  brokenPolicies(): number;
  /** Checks for changes now and reloads if any (after a write on this replica, tests). */
  refresh(): Promise<void>;
  /** Stops the poll. */
  close(): void;
}

/** An attached policy; `policy` undefined when it does not compile (`name` is then refused). */
interface Indexed {
  name: string;
  policy: CompiledPolicy | undefined;
  ownerOrgId: string | null;
}

/**
 * The refusal of a call governed by a policy that does not compile: FailedPrecondition, as the
 * state only an operator can change (the caller's retry cannot), naming the policies and never
 * their rules. A configuration fault: on the OpenAI surface a 500 no SDK retries, not a 400.
 */
export function brokenPolicyError(names: readonly string[]): ConnectError {
  const which = names.length === 1 ? `guardrail policy ${names[0]}` : `guardrail policies ${names.join(", ")}`;
  const err = new ConnectError(
    `${which} cannot be enforced: the stored policy does not compile on this gateway, so the calls it governs are refused until an operator updates, disables or deletes it`,
    Code.FailedPrecondition,
  );
  return configurationFault(err, "guardrail_policy_broken");
}

/**
 * Creates a resolver that checks the store's version every `pollMs` (in the background) and
 * recompiles every enabled policy when it moved, so a change on any replica is enforced by every
 * replica within `pollMs`. The poll runs whether or not calls come: checked only when a call found
 * the snapshot stale, a replica idle for a while answered its first calls with policies long
 * since changed (the call that noticed did not wait for the check). A call that finds the snapshot
 * older than `pollMs` (a poll that failed or is slow) starts a check too. Until the first load
 * succeeds, calls fail closed (Unavailable); after that a database outage keeps the last snapshot
 * (policies keep applying) and is retried once per `pollMs`.
 *
 * A stored policy that does not compile (saving compiles it, so only an upgrade whose compiler is
 * stricter, or a row written past the service, leaves one) fails closed too: it stays attached,
 * and every call it governs is refused (`brokenPolicyError`) — dropping it would switch its
 * guardrail off for all of them. Other policies, and other orgs' calls, are unaffected.
 */
export function createPolicyResolver(opts: PolicyResolverOptions): PolicyResolver {
  const now = opts.now ?? Date.now;
  const pollMs = opts.pollMs ?? 1_000;
  let index: Map<string, Indexed[]> | undefined;
  let seen: string | undefined;
  let checkedAt = 0;
  let broken = 0;

  const reload = async () => {
    const version = await opts.store.version();
    if (version === seen && index !== undefined) return;
    const next = new Map<string, Indexed[]>();
    let failed = 0;
    for (const record of await opts.store.loadEnabled()) {
      const name = policyName(record);
      let policy: CompiledPolicy | undefined;
      try {
        const message = fromJson(GuardrailPolicySchema, record.spec as JsonValue, { ignoreUnknownFields: true });
        message.name = name;
        policy = compilePolicy(message);
      } catch (err) {
        failed++;
        opts.onBroken?.(name, err);
      }
      for (const a of record.attachments) {
        const key = a.kind === "route" ? `route:${a.id ?? "*"}:${a.alias ?? ""}` : `${a.kind}:${a.id ?? ""}`;
        const list = next.get(key) ?? [];
        list.push({ name, policy, ownerOrgId: record.orgId });
        next.set(key, list);
      }
    }
    index = next;
    broken = failed;
    seen = version;
  };
  const refresh = serialRefresh(() =>
    reload().finally(() => {
      checkedAt = now();
    }),
  );
  const stop = pollRefresh(refresh, pollMs, opts.onError);

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
    // Checked "in the future": the wall clock stepped back since, so the snapshot's age is unknown.
    const age = now() - checkedAt;
    if (age >= pollMs || age < 0) refreshInBackground(refresh, opts.onError);
  };
  /** The call's policies, or the names of those governing it that do not compile. */
  const lookup = (meta: Pick<CallMeta, "caller" | "route">): CompiledPolicy[] | { broken: string[] } => {
    const org = meta.caller?.orgId;
    const keys = [`route:*:${meta.route}`];
    if (meta.caller !== undefined) keys.push(`org:${org}`, `team:${meta.caller.teamId}`, `key:${meta.caller.keyId}`, `route:${org}:${meta.route}`);
    const out = new Map<string, CompiledPolicy>();
    let failed: Set<string> | undefined;
    for (const key of keys) {
      for (const { name, policy, ownerOrgId } of index?.get(key) ?? []) {
        if (ownerOrgId !== null && ownerOrgId !== org) continue;
        if (policy === undefined) (failed ??= new Set()).add(name);
        else out.set(name, policy);
      }
    }
    return failed === undefined ? [...out.values()] : { broken: [...failed] };
  };

  return {
    async forCall(meta) {
      if (index === undefined) await firstLoad();
      else checkIfStale();
      const found = lookup(meta);
      if ("broken" in found) throw brokenPolicyError(found.broken);
      return found;
    },
    peek(meta) {
      if (index === undefined) return undefined;
      checkIfStale();
      const found = lookup(meta);
      return "broken" in found ? undefined : found;
    },
    brokenPolicies: () => broken,
    refresh,
    close: stop,
  };
}
