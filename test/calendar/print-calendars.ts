/**
 * Run as a child process under different TZ settings by timezones.test.ts: prints every
 * calendar convene produces for the DST cases and for the CA LMI event, plus the instants
 * ical.js reads back, so the parent can check they do not depend on the process's zone.
 */
import { DateTime } from "luxon";
import { buildInvite } from "../../src/calendar/invite.js";
import { publishFiles } from "../../src/calendar/publish.js";
import { CASES, caseCalendars, caseInstants, STAMP } from "./dst-cases.js";
import { caLmi } from "./fixture.js";

const def = caLmi();
const member = def.audiences["team-members"]?.[0];
if (!member) throw new Error("no team member");
const out = {
  tz: process.env.TZ,
  // Proves the TZ setting took effect in this process.
  localOffset: new Date(2017, 0, 1).getTimezoneOffset(),
  localWinterHour: new Date(Date.UTC(2017, 0, 1, 12)).getHours(),
  cases: CASES.map((c) => ({ ...caseCalendars(c), instants: caseInstants(c) })),
  files: publishFiles(def, { stamp: STAMP }).map((f) => [f.filename, f.ics]),
  invite: buildInvite(def, {
    itemId: "day-2017-06-21",
    recipient: member,
    sequence: 3,
    method: "REQUEST",
    stamp: DateTime.fromISO("2017-06-01T10:00:00", { zone: "America/Los_Angeles" }),
  }).ics,
};
process.stdout.write(JSON.stringify(out));
