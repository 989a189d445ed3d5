import type { FieldMask } from "@bufbuild/protobuf/wkt";
import { fieldViolation } from "../errors/field-violation.js";

/**
 * The fields an Update changes: the mask's paths, each one of `allowed` (proto field names), or
 * `*` for all of them (AIP-134). An empty mask or an unknown path is `InvalidArgument`.
 */
export function maskedFields<const F extends string>(mask: FieldMask | undefined, allowed: readonly F[]): ReadonlySet<F> {
  const paths = mask?.paths ?? [];
  if (paths.length === 0) throw fieldViolation("update_mask", `name at least one of ${allowed.join(", ")}`, "update_mask.required");
  if (paths.length === 1 && paths[0] === "*") return new Set(allowed);
  for (const path of paths) {
    if (!(allowed as readonly string[]).includes(path)) {
      throw fieldViolation("update_mask", `"${path}" cannot be updated; updatable fields: ${allowed.join(", ")}`, "update_mask.updatable");
    }
  }
  return new Set(paths as F[]);
}
