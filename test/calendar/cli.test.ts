import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { DateTime } from "luxon";
import { afterAll, describe, expect, it } from "vitest";
import { ROOT } from "./fixture.js";
import { expectChecklist, instantOf, parseIcs } from "./ics-checklist.js";

const run = promisify(execFile);
const out = mkdtempSync(join(tmpdir(), "convene-cal-cli-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

function cli(...args: string[]) {
  return run(process.execPath, ["--import", "tsx", join(ROOT, "src/cli.ts"), ...args], {
    cwd: ROOT,
  });
}

describe("convene calendar", () => {
  it("writes the agenda, day, series and save-the-date files", async () => {
    const { stdout } = await cli(
      "calendar",
      "events/ca-lmi-2017",
      "--out",
      out,
      "--stamp",
      "2017-05-15T09:00",
    );
    expect(stdout).toContain("6 calendar files written");
    expect(readdirSync(out).sort()).toEqual([
      "abc-west-coast-lmi-2017.ics",
      "ca-lmi-2017.ics",
      "day-2017-06-19.ics",
      "day-2017-06-20.ics",
      "day-2017-06-21.ics",
      "regional-cohort-training.ics",
    ]);
    for (const f of readdirSync(out))
      expectChecklist(readFileSync(join(out, f), "utf8"), { method: "PUBLISH" });

    const day2 = parseIcs(readFileSync(join(out, "day-2017-06-21.ics"), "utf8"));
    const wrap = day2.events.find((e) =>
      String(e.getFirstPropertyValue("uid")).startsWith("day-2017-06-21-wrap-up."),
    );
    expect(wrap && instantOf(wrap, "dtstart")).toBe(
      DateTime.fromISO("2017-06-21T15:10", { zone: "America/Los_Angeles" }).toMillis(),
    );
    const abc = readFileSync(join(out, "abc-west-coast-lmi-2017.ics"), "utf8");
    expect(abc).toContain("\r\nDTSTART;VALUE=DATE:20171025\r\nDTEND;VALUE=DATE:20171027\r\n");
    expect(abc).toContain("\r\nDTSTAMP:20170515T160000Z\r\n");
  });

  it("reports a bad event path without a stack trace", async () => {
    const err = await cli("calendar", "events/nope", "--out", out).catch((e) => e);
    expect(err.code).toBe(1);
    expect(err.stderr).toMatch(/no event folder at events\/nope/);
    expect(err.stderr).not.toMatch(/\n\s+at /);
  });
});
