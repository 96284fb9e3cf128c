/**
 * jobs/index.ts finds the kinds by listing its folder (issue 10): every jobs/<kind>.ts is a kind
 * named after its file, from the sources and from the compiled dist/jobs/ alike, and a step
 * naming a kind that has no file is a located problem that lists the ones there are.
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { KINDS } from "../../jobs/index.js";
import type { KindRegistry } from "../../src/kind.js";
import { loadEvent } from "../../src/model/load.js";
import { formatProblem } from "../../src/model/problems.js";
import { ROOT } from "../support/cli.js";
import { baseFiles, removeDir, writeEventDir } from "../support/event-dir.js";

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

/** The kind files as the folder holds them, listed here independently of the registry's filter. */
function filesIn(dir: string, ext: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(ext) && !f.endsWith(".d.ts") && f !== `index${ext}`)
    .map((f) => f.slice(0, -ext.length))
    .sort();
}

describe("the kind registry", () => {
  it("holds one kind per jobs/*.ts, named after its file", () => {
    const names = filesIn(join(ROOT, "jobs"), ".ts");
    expect(names.length).toBeGreaterThan(0);
    expect([...KINDS.keys()].sort()).toEqual(names);
    for (const [name, kind] of KINDS) expect(kind.name).toBe(name);
  });

  it("finds the same kinds compiled, in dist/jobs/*.js", async () => {
    const compiled = join(ROOT, "dist", "jobs", "index.js");
    expect(existsSync(compiled), "run `npm run build` first").toBe(true);
    const mod = (await import(pathToFileURL(compiled).href)) as { KINDS: KindRegistry };
    expect([...mod.KINDS.keys()].sort()).toEqual(filesIn(join(ROOT, "jobs"), ".ts"));
  });

  it("refuses a step whose kind has no file, where it is written, naming the known kinds", () => {
    const campaign = `steps:
  - id: letter
    kind: invitation-letter
    audience: supers
    trigger: { at: "2017-05-15 09:00" }
  - id: oops
    kind: invitation-leter
    audience: supers
    trigger: { at: "2017-05-16 09:00" }
`;
    const dir = writeEventDir(baseFiles(campaign));
    dirs.push(dir);
    const r = loadEvent(dir, KINDS);
    expect(r.definition).toBeUndefined();
    const lines = r.problems.map(formatProblem).map((l) => l.replace(`${dir}/`, ""));
    const known = [...KINDS.keys()].sort().join(", ");
    expect(lines).toEqual([
      `campaign.yaml:7:11: steps[1].kind: unknown kind "invitation-leter" (known: ${known})`,
    ]);
  });
});
