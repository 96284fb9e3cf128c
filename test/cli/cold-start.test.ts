/**
 * Cold start (issue 12): `convene --help`, `--version` and `plan` must not load MJML, BullMQ or
 * ioredis, which cost most of a second before any command ran. The built CLI runs with a module
 * hook that writes down every module the process loads, and the test reads that list: what is
 * loaded decides the start-up time, and it does not depend on how busy the machine is (the time
 * itself is measured with a benchmark, not asserted here).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "../support/cli.js";

const BUILT_CLI = join(ROOT, "dist", "src", "cli.js");
const HEAVY = ["mjml", "bullmq", "ioredis", "fastify"];

/** Runs in Node's loader thread: every ES module specifier resolved, as a URL, one per line. */
const HOOKS = `
import { appendFileSync } from "node:fs";
let file;
export function initialize(data) { file = data.file; }
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  appendFileSync(file, r.url + "\\n");
  return r;
}
`;

/**
 * Given to `node --import`: installs the hook, and at exit adds the CommonJS modules (mjml is
 * one), which a package may require without passing through the ES module hook.
 */
const PRELOAD = `
import { appendFileSync, writeFileSync } from "node:fs";
import { createRequire, register } from "node:module";
const file = process.env.CONVENE_LOADED_MODULES;
writeFileSync(file, "");
register(new URL("./hooks.mjs", import.meta.url), { data: { file } });
const cache = createRequire(import.meta.url).cache;
process.on("exit", () => appendFileSync(file, Object.keys(cache).join("\\n") + "\\n"));
`;

let dir: string;
let runs = 0;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "convene-cold-start-"));
  writeFileSync(join(dir, "hooks.mjs"), HOOKS);
  writeFileSync(join(dir, "preload.mjs"), PRELOAD);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The package a loaded file belongs to: the name after its last node_modules/. */
function packageOf(location: string): string | undefined {
  const m = [...location.matchAll(/node_modules\/((?:@[^/]+\/)?[^/]+)\//g)].at(-1);
  return m?.[1];
}

/** Runs the built CLI from the repository root; the packages it loaded, by name. */
function packagesLoadedBy(args: string[]): Set<string> {
  const file = join(dir, `run-${++runs}.txt`);
  const r = spawnSync(
    process.execPath,
    ["--import", pathToFileURL(join(dir, "preload.mjs")).href, BUILT_CLI, ...args],
    {
      cwd: ROOT,
      env: { ...process.env, CONVENE_LOADED_MODULES: file },
      encoding: "utf8",
      timeout: 60_000,
    },
  );
  expect(r.status, r.stderr).toBe(0);
  const loaded = readFileSync(file, "utf8").split("\n");
  return new Set(loaded.flatMap((l) => packageOf(l) ?? []));
}

describe("what the CLI loads before it runs a command", () => {
  beforeAll(() => {
    expect(readFileSync(BUILT_CLI, "utf8"), "run `npm run build` first").toContain("commander");
  });

  it.each([
    "--help",
    "--version",
    "plan --help",
    "worker --help",
    "serve --help",
    "plan events/ca-lmi-2017",
  ])("`convene %s` loads neither MJML nor BullMQ nor ioredis nor fastify", (args) => {
    const loaded = packagesLoadedBy(args.split(" "));
    // The hook saw the packages that did load: an empty list would pass for the wrong reason.
    expect(loaded.has("commander")).toBe(true);
    expect(HEAVY.filter((p) => loaded.has(p))).toEqual([]);
  });

  it("loads MJML for validate, which compiles every template, but no Redis client", () => {
    const loaded = packagesLoadedBy(["validate", "events/ca-lmi-2017"]);
    expect(loaded.has("mjml")).toBe(true);
    expect(["bullmq", "ioredis"].filter((p) => loaded.has(p))).toEqual([]);
  });

  it("is built executable, as node_modules/.bin/convene and npm's bin link need", () => {
    // npm run build starts from an empty dist; tsc alone would write the file without +x.
    expect(statSync(BUILT_CLI).mode & 0o111).toBe(0o111);
    const r = spawnSync(join(ROOT, "node_modules", ".bin", "convene"), ["--version"], {
      encoding: "utf8",
    });
    expect(r.status, r.stderr).toBe(0);
  });
});
