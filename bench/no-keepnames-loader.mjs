// Loads the gateway's TypeScript with esbuild like tsx does, but WITHOUT `keepNames` (tsx sets it,
// and esbuild then defines `name` on every named function, which puts each closure's properties in
// dictionary mode: ≈ 256 B more per closure). For the memory comparison in bench/README.md only:
//   node --import ./bench/no-keepnames-loader.mjs server/main.ts
import { register } from "node:module";

register("./no-keepnames-hooks.mjs", import.meta.url);
