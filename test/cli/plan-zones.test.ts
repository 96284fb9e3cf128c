/** `convene plan` labels each row with its own zone (issue 9, item 4). */
import { describe, expect, it } from "vitest";
import { runCli } from "../support/cli.js";

describe("the plan table of a campaign with `zone: recipient` steps", () => {
  const r = runCli(["plan", "events/berlin-partnership-forum-2026", "--now", "2030-01-01"], {
    TZ: "UTC",
  });
  const rows = r.stdout.split("\n").filter((l) => l.includes("reminder-7d"));

  it("shows each row in its own zone, named", () => {
    expect(r.status).toBe(0);
    expect(rows.some((l) => /2026-02-26 09:00 GMT\+9 +Asia\/Tokyo/.test(l))).toBe(true);
    expect(rows.some((l) => /2026-02-26 09:00 EST +America\/New_York/.test(l))).toBe(true);
    expect(rows.some((l) => /2026-02-26 09:00 GMT\+1 +Europe\/Berlin/.test(l))).toBe(true);
  });

  it("does not claim every time is in the event's zone", () => {
    expect(r.stdout).not.toContain("(times in Europe/Berlin)");
  });
});
