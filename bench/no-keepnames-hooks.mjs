// Module hooks of bench/no-keepnames-loader.mjs: `./x.js` resolves to `./x.ts` when that exists,
// and .ts files are transformed by esbuild (ESM, inline source map, whitespace minified, no keepNames).
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { transformSync } from "esbuild";

export async function resolve(specifier, context, next) {
  const relative = specifier.startsWith(".") || specifier.startsWith("/") || specifier.startsWith("file:");
  if (relative && specifier.endsWith(".js") && context.parentURL?.startsWith("file:")) {
    const url = new URL(`${specifier.slice(0, -3)}.ts`, context.parentURL);
    if (existsSync(fileURLToPath(url))) return { url: url.href, format: "module", shortCircuit: true };
  }
  return next(specifier, context);
}

export async function load(url, context, next) {
  if (!url.startsWith("file:") || !url.endsWith(".ts")) return next(url, context);
  const path = fileURLToPath(url);
  const { code } = transformSync(readFileSync(path, "utf8"), { loader: "ts", format: "esm", target: `node${process.versions.node}`, sourcemap: "inline", sourcefile: path, minifyWhitespace: true });
  return { format: "module", source: code, shortCircuit: true };
}
