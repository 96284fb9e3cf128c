/**
 * The kind registry: every other file in this folder declares one kind (`export default
 * defineKind(…)`), named after the file. They are found by listing the folder rather than by
 * import lines, so adding a kind is adding its file. The same code runs from jobs/*.ts (tsx,
 * vitest) and from the compiled dist/jobs/*.js.
 */
import { readdirSync } from "node:fs";
import { dirname, extname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { Kind, KindRegistry } from "../src/kind.js";

const here = dirname(fileURLToPath(import.meta.url));
const ownExt = extname(fileURLToPath(import.meta.url));

/** The kinds' module files: same extension as this one (.ts or .js), no declarations or maps. */
export function kindFiles(dir = here, ext = ownExt): string[] {
  return readdirSync(dir)
    .filter((f) => extname(f) === ext && !f.endsWith(`.d${ext}`) && f !== `index${ext}`)
    .sort();
}

function isKind(x: unknown): x is Kind {
  return typeof x === "object" && x !== null && typeof (x as Kind).name === "string";
}

async function loadKind(file: string): Promise<Kind> {
  const mod = (await import(pathToFileURL(join(here, file)).href).catch((e: Error) => {
    throw new Error(`jobs/${file} does not load: ${e.message}`);
  })) as { default?: unknown };
  const name = file.slice(0, -ownExt.length);
  if (!isKind(mod.default))
    throw new Error(`jobs/${file} must \`export default defineKind({ name: "${name}", … })\``);
  // One kind, one file: a name that differs from the file would hide which file defines it.
  if (mod.default.name !== name)
    throw new Error(`jobs/${file} declares kind "${mod.default.name}"; name it "${name}"`);
  return mod.default;
}

export const KINDS: KindRegistry = new Map(
  (await Promise.all(kindFiles().map(loadKind))).map((k) => [k.name, k]),
);
