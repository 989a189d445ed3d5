import type { ProviderCapabilities } from "./provider.js";
import { PROVIDER_DECLARATIONS } from "./registry.js";

const COLUMNS: Array<[keyof ProviderCapabilities, string]> = [
  ["streaming", "streaming"],
  ["tools", "tools"],
  ["parallelToolCalls", "parallel tools"],
  ["jsonSchema", "JSON schema"],
  ["jsonObject", "JSON mode"],
  ["embeddings", "embeddings"],
  ["vision", "vision"],
];

/**
 * The README's provider table, generated from the declarations so it cannot drift from what
 * the adapters declare (a test compares the README with this output).
 */
export function providerTableMarkdown(): string {
  const head = ["kind", "provider", "wire format", "default endpoint", ...COLUMNS.map(([, label]) => label)];
  const rows = PROVIDER_DECLARATIONS.map((d) => [
    `\`${d.kind}\``,
    d.label,
    d.wire,
    d.defaultBaseUrl ? `\`${d.defaultBaseUrl}\`` : (d.endpointNote ?? "(per deployment)"),
    ...COLUMNS.map(([key]) => (d.capabilities[key] ? "yes" : "—")),
  ]);
  return [head, head.map(() => "---"), ...rows].map((r) => `| ${r.join(" | ")} |`).join("\n");
}
