// Compiles the gateway's TypeScript to JavaScript for production: `npm run build` (and `npm start`).
//
//   node scripts/build.mjs [--out DIR]      (default DIR: dist)
//
// - compiles `server/**` (not tests: `*.test.ts`, `*.testing.ts`, `*.contract.ts`, `*.model.ts`),
//   `gen/ts/**` and `migrations/**` into DIR, keeping the tree, so a path resolved from a module's
//   own location (`server/store/migrate.ts` finds `../../migrations/`) resolves inside DIR too;
// - one esbuild transform per file (ESM, node20, no bundling, no `keepNames`: tsx's `__name()`
//   wrappers cost CPU and ≈ 10 KB per open stream, see bench/README.md), each with a linked source
//   map (mappings only, no `sourcesContent`: node keeps every loaded map in memory), so
//   `node --enable-source-maps` stack traces name the .ts lines;
// - DIR is emptied first and gets a `package.json` of `{"type":"module"}`, so the output is the same
//   for the same sources and loads as ESM wherever DIR lives (a DIR outside the repository also
//   needs a `node_modules` beside or above it);
// - the only non-TypeScript files the server reads at run time are its data folder's (the pepper,
//   the master key, the ledger), none from the source tree: nothing else to copy.
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { transform } from "esbuild";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const SOURCE_DIRS = ["server", "gen/ts", "migrations"];
const NOT_SHIPPED = [".test.ts", ".testing.ts", ".contract.ts", ".model.ts", ".d.ts"];

/** Every `.ts` file under `dir` that ships, sorted (relative to the repository root, `/`-separated). */
async function sources(dir) {
  const entries = await readdir(join(ROOT, dir), { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && e.name.endsWith(".ts") && !NOT_SHIPPED.some((s) => e.name.endsWith(s)))
    .map((e) => relative(ROOT, join(e.parentPath ?? e.path, e.name)).split(sep).join("/"))
    .sort();
}

/** Compiles the shipped sources into `outDir`; returns how many sources it compiled. */
export async function build(outDir) {
  const out = resolve(outDir);
  // It is emptied first: never the repository (or above it), never a source folder.
  const inside = (dir) => !relative(dir, out).startsWith("..");
  if (!relative(out, ROOT).startsWith("..") || SOURCE_DIRS.some((d) => inside(join(ROOT, d)))) {
    throw new Error(`refusing to build into ${out}`);
  }
  const tsconfig = JSON.parse(await readFile(join(ROOT, "tsconfig.json"), "utf8"));
  const tsconfigRaw = { compilerOptions: tsconfig.compilerOptions };
  const files = (await Promise.all(SOURCE_DIRS.map(sources))).flat();
  await rm(out, { recursive: true, force: true });
  await mkdir(out, { recursive: true });
  await writeFile(join(out, "package.json"), '{ "type": "module" }\n');
  await Promise.all(
    files.map(async (file) => {
      const target = join(out, file.replace(/\.ts$/, ".js"));
      const source = await readFile(join(ROOT, file), "utf8");
      const { code, map, warnings } = await transform(source, {
        loader: "ts",
        format: "esm",
        target: "node20",
        platform: "node",
        sourcemap: "external",
        // Without the .ts text: `--enable-source-maps` keeps every loaded module's map in memory
        // for the process's life (≈ 2 MB of V8 heap for the sources alone); stack traces need
        // only the mappings (an uncaught error's code excerpt reads the .ts file, when present).
        sourcesContent: false,
        // The map's `sources` entry: the .ts file, relative to where the map lands.
        sourcefile: relative(dirname(target), join(ROOT, file)).split(sep).join("/"),
        tsconfigRaw,
      });
      for (const w of warnings) process.stderr.write(`${file}: ${w.text}\n`);
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, `${code}//# sourceMappingURL=${basename(target)}.map\n`);
      await writeFile(`${target}.map`, map);
    }),
  );
  return files.length;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf("--out");
  const outDir = i === -1 ? join(ROOT, "dist") : process.argv[i + 1];
  if (!outDir) throw new Error("--out needs a folder");
  const started = performance.now();
  const n = await build(outDir);
  process.stderr.write(`build: ${n} files into ${relative(process.cwd(), resolve(outDir)) || "."} in ${Math.round(performance.now() - started)} ms\n`);
}
