/**
 * Our reading of the VTIMEZONE blocks' RRULEs (src/calendar/vtimezone.ts) against ical.js's
 * ICAL.Timezone, which is what a calendar client does: given a TZID'd wall time, which UTC
 * offset does the block assign? Sampled hourly over the years the examples and the DST cases
 * use, in every zone they use, and at the DST cases' own instants.
 */
import ICAL from "ical.js";
import { DateTime, IANAZone } from "luxon";
import { describe, expect, it } from "vitest";
import { blockOffsetAt, vtimezone, wallTimeIsUnambiguous } from "../../src/calendar/vtimezone.js";
import { localToInstant } from "../../src/model/time.js";
import { CASES } from "./dst-cases.js";

const ZONES = ["America/Los_Angeles", "Europe/Berlin", "Asia/Tokyo", "America/Sao_Paulo"];

function icalZone(zone: string): ICAL.Timezone {
  const block = vtimezone(zone);
  if (!block) throw new Error(`no VTIMEZONE for ${zone}`);
  const cal = new ICAL.Component(ICAL.parse(`BEGIN:VCALENDAR\r\n${block}\r\nEND:VCALENDAR\r\n`));
  return new ICAL.Timezone(cal.getFirstSubcomponent("vtimezone") as ICAL.Component);
}

/** The offset (minutes) ical.js gives the instant's wall time in the zone. */
function icalOffset(tz: ICAL.Timezone, zone: string, ms: number): number {
  const w = DateTime.fromMillis(ms, { zone });
  const t = new ICAL.Time(
    { year: w.year, month: w.month, day: w.day, hour: w.hour, minute: w.minute, second: w.second },
    tz,
  );
  return tz.utcOffset(t) / 60;
}

/**
 * Every 5 hours (so each hour of the day comes round every 5 days), and hourly for a day either
 * side of each offset change Luxon knows of, where a misread rule would show.
 */
function samples(zone: string, fromYear: number, toYear: number): number[] {
  const z = IANAZone.create(zone);
  const out: number[] = [];
  const end = Date.UTC(toYear + 1, 0, 1);
  const step = 5 * 3_600_000;
  for (let ms = Date.UTC(fromYear, 0, 1); ms < end; ms += step) {
    out.push(ms);
    if (z.offset(ms) !== z.offset(ms + step))
      for (let h = -24; h <= 24; h++) out.push(ms + h * 3_600_000);
  }
  return out;
}

describe("VTIMEZONE rules: ours against ical.js", () => {
  const caseInstants = CASES.flatMap((c) =>
    [c.start, c.end].map((t) => ({
      zone: c.zone,
      ms: localToInstant(c.date, t, c.zone).toMillis(),
    })),
  );

  it.each(ZONES)("%s: the same offset at every unambiguous wall time, 2015–2027", (zone) => {
    const tz = icalZone(zone);
    const instants = [
      ...samples(zone, 2015, 2027),
      ...caseInstants.filter((c) => c.zone === zone).map((c) => c.ms),
    ];
    const differ: string[] = [];
    for (const ms of instants) {
      const t = DateTime.fromMillis(ms, { zone });
      // A client's reading of a repeated or skipped wall time is its own; we never write one.
      if (!wallTimeIsUnambiguous(zone, t)) continue;
      const ours = blockOffsetAt(zone, ms);
      const theirs = icalOffset(tz, zone, ms);
      if (ours !== theirs) differ.push(`${t.toISO()}: ours ${ours}, ical.js ${theirs}`);
    }
    expect(differ.slice(0, 5)).toEqual([]);
  });

  it("both see where Sao Paulo's block loses Brazil's old DST, as Luxon knows it", () => {
    const zone = "America/Sao_Paulo";
    const ms = localToInstant("2018-11-05", "09:00", zone).toMillis();
    const luxon = IANAZone.create(zone).offset(ms);
    expect(luxon).toBe(-120);
    expect(blockOffsetAt(zone, ms)).toBe(-180);
    expect(icalOffset(icalZone(zone), zone, ms)).toBe(-180);
  });
});
