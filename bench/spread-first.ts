/**
 * Finds object literals that start with a spread and then add a key the spread may not have —
 * `{ ...call, admitted }` where `call`'s type has no required `admitted`. Once such a function is
 * optimized, V8 11 (Node 20) builds a new hidden class for every object it makes there: ≈ 0.7 µs
 * each, and megamorphic reads wherever the objects go (bench/README.md, "Memory per call in
 * flight"). A spread that only overrides required keys of its source, or that is not the
 * literal's first element, is fine and not listed.
 *
 *   node --import tsx bench/spread-first.ts [DIR…]     (default: the per-call code under server/)
 *
 * Prints `file:line  {…} adds k1, k2` per site; exits 0 (a report, not a gate).
 */
import ts from "typescript";

const DEFAULT_DIRS = ["server/pipeline", "server/dispatch", "server/openai", "server/verbs", "server/observability", "server/limits", "server/cache", "server/guardrails", "server/providers", "server/http", "server/interceptors", "server/auth", "server/vault"];
const dirs = process.argv.slice(2).length > 0 ? process.argv.slice(2) : DEFAULT_DIRS;

const config = ts.getParsedCommandLineOfConfigFile("tsconfig.json", {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} });
if (config === undefined) throw new Error("cannot read tsconfig.json");
const wanted = config.fileNames.filter((f) => dirs.some((d) => f.includes(`/${d}/`)) && !/\.(test|contract|child)\.ts$|\/testing\//.test(f));
const program = ts.createProgram(wanted, config.options);
const checker = program.getTypeChecker();

/** Names a spread is sure to carry: the required properties of every member of its type. */
function requiredKeys(expr: ts.Expression): Set<string> {
  const type = checker.getTypeAtLocation(expr);
  const members = type.isUnion() ? type.types : [type];
  const sets = members.map((t) => new Set(checker.getPropertiesOfType(checker.getApparentType(t)).filter((p) => (p.flags & ts.SymbolFlags.Optional) === 0).map((p) => p.name)));
  const [first, ...rest] = sets;
  return new Set([...(first ?? [])].filter((k) => rest.every((s) => s.has(k))));
}

/** The keys a later element of the literal may add. */
function keysOf(element: ts.ObjectLiteralElementLike): string[] {
  if (ts.isSpreadAssignment(element)) {
    const type = checker.getTypeAtLocation(element.expression);
    return (type.isUnion() ? type.types : [type]).flatMap((t) => checker.getPropertiesOfType(checker.getApparentType(t)).map((p) => p.name));
  }
  const name = element.name;
  return name !== undefined && (ts.isIdentifier(name) || ts.isStringLiteral(name)) ? [name.text] : ["(computed)"];
}

let sites = 0;
for (const file of program.getSourceFiles()) {
  if (!wanted.includes(file.fileName)) continue;
  const visit = (node: ts.Node): void => {
    if (ts.isObjectLiteralExpression(node) && node.properties.length > 1 && ts.isSpreadAssignment(node.properties[0]!)) {
      const has = requiredKeys(node.properties[0].expression);
      const added = [...new Set(node.properties.slice(1).flatMap(keysOf))].filter((k) => !has.has(k));
      if (added.length > 0) {
        sites++;
        const { line } = file.getLineAndCharacterOfPosition(node.getStart(file));
        const text = node.getText(file).replace(/\s+/g, " ");
        console.log(`${file.fileName.replace(process.cwd() + "/", "")}:${line + 1}  ${text.length > 90 ? text.slice(0, 87) + "…" : text}  adds ${added.join(", ")}`);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
}
console.log(`${sites} site(s)`);
