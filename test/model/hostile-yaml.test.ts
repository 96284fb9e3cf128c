/**
 * A hostile or broken event file must end in a located problem, never an exception: the worker
 * keeps the last good version of a definition only when loading reports problems instead of
 * throwing (issue 8: a YAML alias bomb threw out of the loader).
 */

import { afterAll, describe, expect, it } from "vitest";
import { KINDS } from "../../jobs/index.js";
import { loadEvent } from "../../src/model/load.js";
import { formatProblem } from "../../src/model/problems.js";
import { YamlSource } from "../../src/model/yaml-source.js";
import { runCli } from "../support/cli.js";
import { BASE_EVENT, baseFiles, removeDir, writeEventDir } from "../support/event-dir.js";

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

const CAMPAIGN = `steps:
  - id: letter
    kind: invitation-letter
    audience: supers
    trigger: { at: "2017-05-15 09:00" }
`;

/** Nine aliases per level, nine levels: 9^9 strings once expanded ("billion laughs"). */
function aliasBomb(): string {
  const levels = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  for (let i = 1; i < 9; i++)
    levels.push(
      `a${i}: &a${i} [${Array(9)
        .fill(`*a${i - 1}`)
        .join(",")}]`,
    );
  return `${levels.join("\n")}\n`;
}

function eventDir(overrides: Record<string, string>): string {
  const dir = writeEventDir(baseFiles(CAMPAIGN, overrides));
  dirs.push(dir);
  return dir;
}

function lines(dir: string): string[] {
  return loadEvent(dir, KINDS)
    .problems.map(formatProblem)
    .map((l) => l.replace(`${dir}/`, ""));
}

describe("hostile YAML", () => {
  it("an alias bomb is a located problem at its first alias", () => {
    const src = new YamlSource("event.yaml", aliasBomb());
    expect(src.value).toBeUndefined();
    expect(src.problems.map(formatProblem)).toEqual([
      expect.stringMatching(/^event\.yaml:2:10: YAML aliases expand too much/),
    ]);
  });

  it("in event.yaml, loadEvent reports it rather than throwing", () => {
    const dir = eventDir({
      "event.yaml": `${BASE_EVENT}bomb:\n  ${aliasBomb().replace(/\n/g, "\n  ")}`,
    });
    const found = lines(dir);
    expect(found).toEqual([
      expect.stringMatching(/^event\.yaml:\d+:\d+: YAML aliases expand too much/),
    ]);
  });

  it("a file over 1 MB is refused unparsed, with its size", () => {
    const dir = eventDir({ "campaign.yaml": `${CAMPAIGN}# ${"x".repeat(1024 * 1024)}\n` });
    expect(lines(dir)).toEqual([
      expect.stringMatching(
        /^campaign\.yaml:1:1: file is larger than the 1 MB limit \(\d+ bytes\)$/,
      ),
    ]);
  });

  it("deep nesting is a located problem", () => {
    const deep = `${"[".repeat(100)}${"]".repeat(100)}`;
    const src = new YamlSource("event.yaml", `id: demo\nx: ${deep}\n`);
    expect(src.value).toBeUndefined();
    expect(src.problems.map(formatProblem)).toEqual([
      expect.stringMatching(/^event\.yaml:2:\d+: nested more than 64 levels deep/),
    ]);
  });

  it("convene validate prints the problem and exits 1, without a stack trace", () => {
    const dir = eventDir({ "event.yaml": aliasBomb() });
    const r = runCli(["validate", dir]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/event\.yaml:2:10: YAML aliases expand too much/);
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });
});
