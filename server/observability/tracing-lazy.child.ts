/**
 * Child process of tracing.test.ts: refuses to resolve the OpenTelemetry SDK's packages, then
 * creates a disabled tracer (must work: it needs none of them) and an enabled one (must fail:
 * it does), printing what happened as JSON.
 */
import { register } from "node:module";

const refuse = `export async function resolve(specifier, context, next) {
  if (/^@opentelemetry\\/(sdk-trace-base|core|resources|semantic-conventions)$/.test(specifier)) throw new Error("refused: " + specifier);
  return next(specifier, context);
}`;
register(`data:text/javascript,${encodeURIComponent(refuse)}`);

const { createTracing } = await import("./tracing.js");
const disabled = await createTracing();
const enabled = await createTracing({ otlpEndpoint: "http://127.0.0.1:9" }).then(
  () => "loaded",
  (err: unknown) => (err instanceof Error ? err.message : String(err)),
);
process.stdout.write(JSON.stringify({ disabled: disabled.enabled, enabled }) + "\n");
