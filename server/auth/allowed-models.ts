import type { ConnectError } from "@connectrpc/connect";
import { AccessDenial, accessDenied, refusedRoute } from "./access-denial.js";

/**
 * Whether a key whose `allowed_models` is `allowed` may reach `model`: an empty (or absent) list
 * allows every model its routes reach. Names compare exactly as route targets spell them (no case
 * folding, no aliasing of dated snapshots): the list is the operator's, written against the
 * targets they configured.
 */
export function mayReachModel(allowed: readonly string[] | undefined, model: string): boolean {
  return allowed === undefined || allowed.length === 0 || allowed.includes(model);
}

/** The `targets` whose model a key allowed `allowed` may reach, in their order (`targets` itself when it allows every model). */
export function reachableTargets<T extends { model: string }>(targets: readonly T[], allowed: readonly string[] | undefined): readonly T[] {
  return allowed === undefined || allowed.length === 0 ? targets : targets.filter((t) => allowed.includes(t.model));
}

/**
 * Whether a key may reach at least one of a route's target models (`targetModels`; undefined:
 * unknown here, so not refused — dispatch filters the targets still).
 */
export function reachesSomeTarget(principal: { allowedModels: readonly string[] }, targetModels: readonly string[] | undefined): boolean {
  return targetModels === undefined || principal.allowedModels.length === 0 || targetModels.some((m) => mayReachModel(principal.allowedModels, m));
}

/**
 * The `PermissionDenied` of a call on a route none of whose targets the key may reach: an access
 * decision on the route (audited as one), naming the models the key is limited to.
 */
export function noReachableTarget(route: string, allowed: readonly string[]): ConnectError {
  return accessDenied(
    `the calling key may not reach any model of route "${route}" (its allowed models: ${allowed.join(", ")})`,
    new AccessDenial("route", refusedRoute(route)),
  );
}
