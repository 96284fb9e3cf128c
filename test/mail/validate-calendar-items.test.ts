/**
 * Issue 9, item 2 and the second half of item 1: `convene validate` agrees with the worker about
 * calendar-invite steps. A TBD item means "no sends until it has a date", so a step that lists
 * one first, or only TBD items, is valid; a step still naming a deleted item is a warning
 * (that item's holders get a cancellation), not a definition the worker refuses.
 */

import { afterAll, describe, expect, it } from "vitest";
import { KINDS } from "../../jobs/index.js";
import { loadConfig } from "../../src/config.js";
import { checkTemplates } from "../../src/mail/check.js";
import { loadEvent, loadEventOrThrow } from "../../src/model/load.js";
import { formatProblem } from "../../src/model/problems.js";
import { runCli } from "../support/cli.js";
import { baseFiles, removeDir, writeEventDir } from "../support/event-dir.js";

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

/** BASE_EVENT's cohort session `training-north-1` is TBD; `day-two-keynote` is dated. */
function eventWithItems(items: string[]): string {
  const dir = writeEventDir(
    baseFiles(`steps:
  - id: invite
    kind: calendar-invite
    audience: members
    trigger: { anchor: registration }
    items: [${items.join(", ")}]
`),
    ["calendar-invite"],
  );
  dirs.push(dir);
  return dir;
}

describe("validate and calendar-invite items", () => {
  it("renders a dated item when the step's first item is TBD", async () => {
    const dir = eventWithItems(["training-north-1", "day-two-keynote"]);
    expect(await checkTemplates(loadEventOrThrow(dir, KINDS), loadConfig({}))).toEqual([]);
    const r = runCli(["validate", dir]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
  });

  it("accepts a step whose items are all TBD, with a warning that nothing is sent yet", async () => {
    const dir = eventWithItems(["training-north-1"]);
    const problems = await checkTemplates(loadEventOrThrow(dir, KINDS), loadConfig({}));
    expect(problems.map((p) => [p.severity, p.message])).toEqual([
      [
        "warning",
        "step invite: every item is TBD (training-north-1); nothing is sent until one has a date",
      ],
    ]);
    const r = runCli(["validate", dir]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("no problems (1 warning)");
  });

  it("warns about a step naming a deleted item, and the definition still loads", async () => {
    const dir = eventWithItems(["day-two-keynote", "deleted-session"]);
    const loaded = loadEvent(dir, KINDS);
    expect(loaded.definition).toBeDefined();
    expect(loaded.problems.map((p) => formatProblem(p).replace(`${dir}/`, ""))).toEqual([
      'campaign.yaml:6:30: warning: steps[0].items[1]: no calendar item "deleted-session"; nothing is sent for it (anyone holding it gets a cancellation)',
    ]);
    const r = runCli(["validate", dir]);
    expect(r.status).toBe(0);
    expect(r.stderr).toContain('warning: steps[0].items[1]: no calendar item "deleted-session"');
  });
});
