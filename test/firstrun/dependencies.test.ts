/**
 * What the shipped code imports must survive the Docker image's `npm prune --omit=dev`. A
 * package listed in both `dependencies` and `devDependencies` is taken as a dev dependency by
 * npm, so the prune removed it: mailparser was listed twice, and `convene inbound` in the image
 * would have failed to import it. Type-only imports are erased by the build and are left out.
 */
import { readdirSync, readFileSync } from "node:fs";
import { isBuiltin } from "node:module";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "..", "..");
const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"))
    .map((f) => join(ROOT, dir, f));
}

const STATIC = /(?:^|\n)\s*(?:import|export)\s+(?!type\s)[^;]*?\bfrom\s+"([^"]+)"/g;
const BARE = /(?:^|\n)\s*import\s+"([^"]+)"/g;
const DYNAMIC = /\bimport\(\s*"([^"]+)"\s*\)/g;

/** The package a bare specifier names: "@scope/name/sub" → "@scope/name", "a/b" → "a". */
function packageOf(spec: string): string {
  const parts = spec.split("/");
  return spec.startsWith("@") ? parts.slice(0, 2).join("/") : (parts[0] as string);
}

function importedPackages(): Map<string, string> {
  const out = new Map<string, string>();
  for (const file of [...sources("src"), ...sources("jobs")]) {
    const text = readFileSync(file, "utf8");
    for (const re of [STATIC, BARE, DYNAMIC])
      for (const m of text.matchAll(re)) {
        const spec = m[1] as string;
        if (spec.startsWith(".") || isBuiltin(spec)) continue;
        out.set(packageOf(spec), file.slice(ROOT.length + 1));
      }
  }
  return out;
}

describe("the production dependencies", () => {
  const imported = importedPackages();

  it("finds the imports it checks", () => {
    expect([...imported.keys()]).toEqual(expect.arrayContaining(["bullmq", "mailparser", "mjml"]));
  });

  it("lists every package src/ and jobs/ import in dependencies, and not in devDependencies", () => {
    const missing = [...imported].filter(([name]) => !(name in pkg.dependencies));
    const alsoDev = [...imported].filter(([name]) => name in pkg.devDependencies);
    expect(missing).toEqual([]);
    expect(alsoDev).toEqual([]);
  });
});
