import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { DateTime } from "luxon";
import { describe, expect, it } from "vitest";
import { localToInstant } from "../../src/model/time.js";
import { CASES, caseCalendars, caseInstants, type WallCase } from "./dst-cases.js";
import { ROOT } from "./fixture.js";
import { expectChecklist, parseIcs } from "./ics-checklist.js";

const run = promisify(execFile);

function expected(c: WallCase): number[] {
  return [localToInstant(c.date, c.start, c.zone), localToInstant(c.date, c.end, c.zone)].map((t) =>
    t.toMillis(),
  );
}

const label = (c: WallCase) => `${c.zone} ${c.date} ${c.start}–${c.end}`;

describe("instants across DST changes", () => {
  it.each(CASES.map((c) => [label(c), c] as const))("%s", (_name, c) => {
    const got = caseInstants(c);
    expect(got.invite).toEqual(expected(c));
    expect(got.agenda).toEqual(expected(c));
    // For a wall time that occurs once, the model's rule and Luxon's own parse agree.
    if (c.tzid)
      expect(got.invite[0]).toBe(
        DateTime.fromISO(`${c.date}T${c.start}`, { zone: c.zone }).toMillis(),
      );

    const { invite, agenda } = caseCalendars(c);
    expectChecklist(invite, {
      method: "REQUEST",
      organizer: "organizer@events.example.org",
      attendee: "pat@example.com",
    });
    expectChecklist(agenda, { method: "PUBLISH" });
    const lines = parseIcs(invite).lines;
    const start = lines.slice(lines.indexOf("BEGIN:VEVENT")).find((l) => l.startsWith("DTSTART"));
    if (c.tzid)
      expect(start).toBe(
        `DTSTART;TZID=${c.zone}:${c.date.replace(/-/g, "")}T${c.start.replace(":", "")}00`,
      );
    else expect(start).toMatch(/^DTSTART:\d{8}T\d{6}Z$/);
  });

  it("Sao Paulo's VTIMEZONE has no DST (current rules), LA's has both observances", () => {
    const sp = parseIcs(
      caseCalendars(CASES.find((c) => c.zone === "America/Sao_Paulo" && c.tzid) as WallCase).invite,
    );
    const tz = sp.cal.getFirstSubcomponent("vtimezone");
    expect(tz?.getAllSubcomponents("daylight")).toHaveLength(0);
    const la = parseIcs(caseCalendars(CASES[0] as WallCase).invite).cal.getFirstSubcomponent(
      "vtimezone",
    );
    expect(la?.getAllSubcomponents("daylight")).toHaveLength(1);
    expect(la?.getAllSubcomponents("standard")).toHaveLength(1);
  });
});

describe("the process's own TZ makes no difference", () => {
  const zones = ["UTC", "Europe/Berlin", "America/Los_Angeles"];

  it(`same calendars and instants under TZ=${zones.join(", ")}`, async () => {
    const outputs = await Promise.all(
      zones.map(async (tz) => {
        const { stdout } = await run(
          process.execPath,
          ["--import", "tsx", join(ROOT, "test/calendar/print-calendars.ts")],
          { cwd: ROOT, env: { ...process.env, TZ: tz }, maxBuffer: 64 * 1024 * 1024 },
        );
        return JSON.parse(stdout) as {
          tz: string;
          localOffset: number;
          localWinterHour: number;
          cases: { invite: string; agenda: string; instants: { invite: number[] } }[];
          files: [string, string][];
          invite: string;
        };
      }),
    );
    // The children really ran in different zones (UTC+0, UTC+1 and UTC-8 in January)...
    expect(outputs.map((o) => o.localWinterHour)).toEqual([12, 13, 4]);
    // ...and produced byte-identical calendars, read back to the same instants.
    const [first, ...rest] = outputs;
    for (const o of rest) {
      expect(o.cases).toEqual(first?.cases);
      expect(o.files).toEqual(first?.files);
      expect(o.invite).toBe(first?.invite);
    }
    CASES.forEach((c, i) => {
      for (const o of outputs) expect(o.cases[i]?.instants.invite).toEqual(expected(c));
    });
    expect(first?.files.length).toBeGreaterThan(3);
  });
});
