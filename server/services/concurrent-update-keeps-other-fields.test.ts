/**
 * Two admins updating different fields of one route (or guardrail policy) at once: each Update
 * names only its own field in `update_mask`, so neither may revert the other's change. Routes
 * and policies are stored as one spec that the service reads, merges and writes back; a write
 * built from a read the other update has since overtaken must not land (credentials refuse it
 * with Aborted, and so must these), or the mask's promise ("changes the fields named") is broken:
 * an UpdateRoute of `description` silently restores the old `targets`, an UpdateGuardrailPolicy
 * of `description` silently turns a just-enabled policy back off.
 */
import { create } from "@bufbuild/protobuf";
import { Code, createContextValues, type HandlerContext } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { GuardrailStage } from "../../gen/ts/switchboard/v1/error_details_pb.js";
import {
  CreateGuardrailPolicyRequestSchema,
  GetGuardrailPolicyRequestSchema,
  GuardrailAction,
  UpdateGuardrailPolicyRequestSchema,
} from "../../gen/ts/switchboard/v1/guardrail_service_pb.js";
import { Scope } from "../../gen/ts/switchboard/v1/options_pb.js";
import { CreateRouteRequestSchema, GetRouteRequestSchema, RouteSchema, UpdateRouteRequestSchema } from "../../gen/ts/switchboard/v1/route_service_pb.js";
import { useMigratedDatabase } from "../../test/support/migrated-database.js";
import { testPrincipal } from "../../test/support/principal.js";
import { kPrincipal } from "../interceptors/context-keys.js";
import { createGuardrailPolicyStore, type GuardrailPolicyStore } from "../store/guardrail-policy-store.js";
import { createKeyStore } from "../store/key-store.js";
import { createRouteStore, type RouteStore } from "../store/route-store.js";
import { createTenantStore } from "../store/tenant-store.js";
import { createGuardrailService } from "./guardrail-service.js";
import { createRouteService } from "./route-service.js";
import { codeOf } from "../../test/support/code-of.js";

const admin = testPrincipal({ scopes: new Set([Scope.PLATFORM_ADMIN]) });
const ctx = { values: createContextValues().set(kPrincipal, admin) } as unknown as HandlerContext;
const catalog = { kinds: ["sandbox"], needsCredential: () => false, settings: () => [], params: () => [] };

/** A gate: `wait()` blocks until `open()`. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, wait: () => opened };
}

/** `store` whose next `get` (after `arm()`) returns its row only once the gate opens. */
function stalledReads<S extends { get: (...args: never[]) => Promise<unknown> }>(store: S) {
  let stall: ReturnType<typeof gate> | undefined;
  let reached!: () => void;
  const wrapped = Object.assign(Object.create(store) as S, {
    get: async (...args: Parameters<S["get"]>) => {
      const row = await (store.get as (...a: unknown[]) => Promise<unknown>)(...args);
      const s = stall;
      stall = undefined;
      if (s !== undefined) {
        reached();
        await s.wait();
      }
      return row;
    },
  });
  return {
    store: wrapped,
    /** Stalls the next read; resolves once that read has its (soon stale) row. */
    arm(): { read: Promise<void>; release: () => void } {
      stall = gate();
      const read = new Promise<void>((resolve) => (reached = resolve));
      return { read, release: stall.open };
    },
  };
}


function describeEngine(engine: "postgres" | "pglite"): void {
  const database = useMigratedDatabase({ engine });

  it("UpdateRoute: an update of `description` racing one of `targets` does not restore the old targets", async () => {
    const db = database().db;
    const stalled = stalledReads<RouteStore>(createRouteStore(db));
    const routes = createRouteService({ routes: stalled.store, tenants: createTenantStore(db), catalog });
    const fast = [{ provider: "sandbox", model: "sandbox-fast" }];
    const smart = [{ provider: "sandbox", model: "sandbox-smart" }];
    await routes.createRoute(create(CreateRouteRequestSchema, { parent: "", routeId: "raced", route: { description: "old", targets: fast } }), ctx);

    // A reads the route, then B changes its targets before A writes its description.
    const stall = stalled.arm();
    const a = codeOf(routes.updateRoute(create(UpdateRouteRequestSchema, { route: { name: "routes/raced", description: "new", targets: fast }, updateMask: { paths: ["description"] } }), ctx));
    await stall.read;
    await routes.updateRoute(create(UpdateRouteRequestSchema, { route: { name: "routes/raced", targets: smart }, updateMask: { paths: ["targets"] } }), ctx);
    stall.release();
    const outcomeA = await a;

    const final = create(RouteSchema, (await routes.getRoute(create(GetRouteRequestSchema, { name: "routes/raced" }), ctx)).route!);
    // B's targets stand whatever happened to A; A either applied its description or was refused.
    expect(final.targets.map((t) => t.model)).toEqual(["sandbox-smart"]);
    expect([outcomeA, outcomeA === "ok" ? final.description : "refused"]).toEqual(outcomeA === "ok" ? ["ok", "new"] : [Code.Aborted, "refused"]);
  });

  it("UpdateGuardrailPolicy: an update of `description` racing one of `enabled` does not turn the policy back off", async () => {
    const db = database().db;
    const stalled = stalledReads<GuardrailPolicyStore>(createGuardrailPolicyStore(db));
    const guardrails = createGuardrailService({ policies: stalled.store, tenants: createTenantStore(db), keys: createKeyStore(db) });
    const rules = [{ id: "deny", stage: GuardrailStage.INPUT, action: GuardrailAction.BLOCK, check: { case: "denyList" as const, value: { phrases: ["secret"] } } }];
    await guardrails.createGuardrailPolicy(create(CreateGuardrailPolicyRequestSchema, { parent: "", policyId: "raced", policy: { description: "old", rules, enabled: false } }), ctx);

    // A reads the policy, then B enables it before A writes its description.
    const stall = stalled.arm();
    const a = codeOf(
      guardrails.updateGuardrailPolicy(create(UpdateGuardrailPolicyRequestSchema, { policy: { name: "guardrail-policies/raced", description: "new", rules }, updateMask: { paths: ["description"] } }), ctx),
    );
    await stall.read;
    await guardrails.updateGuardrailPolicy(create(UpdateGuardrailPolicyRequestSchema, { policy: { name: "guardrail-policies/raced", rules, enabled: true }, updateMask: { paths: ["enabled"] } }), ctx);
    stall.release();
    const outcomeA = await a;

    const final = (await guardrails.getGuardrailPolicy(create(GetGuardrailPolicyRequestSchema, { name: "guardrail-policies/raced" }), ctx)).policy!;
    expect(final.enabled).toBe(true);
    expect([outcomeA, outcomeA === "ok" ? final.description : "refused"]).toEqual(outcomeA === "ok" ? ["ok", "new"] : [Code.Aborted, "refused"]);
  });
}

describe("concurrent masked updates (postgres)", () => describeEngine("postgres"));
describe("concurrent masked updates (pglite)", () => describeEngine("pglite"));
