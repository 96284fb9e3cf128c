/**
 * The VTIMEZONE blocks as ical.js reads them (src/calendar/vtimezone.ts), against Luxon's IANA
 * history, in every zone the examples and the DST cases use. Before the switch to ICAL.Timezone
 * this file compared ical.js with the hand-written RRULE reader it replaced, over the same
 * samples, and they agreed at every one (see this file's history).
 */
import { DateTime, IANAZone } from "luxon";
import { describe, expect, it } from "vitest";
import {
  blockOffsetAt,
  wallTimeIsUnambiguous,
  zoneRulesAgree,
} from "../../src/calendar/vtimezone.js";
import { localToInstant } from "../../src/model/time.js";
import { CASES } from "./dst-cases.js";

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

/** Unambiguous wall times where the block and Luxon give different offsets. */
function disagreements(zone: string, fromYear: number, toYear: number): string[] {
  const z = IANAZone.create(zone);
  const inYears = (date: string) =>
    Number(date.slice(0, 4)) >= fromYear && Number(date.slice(0, 4)) <= toYear;
  const cases = CASES.filter((c) => c.zone === zone && inYears(c.date)).flatMap((c) =>
    [c.start, c.end].map((t) => localToInstant(c.date, t, zone).toMillis()),
  );
  const differ: string[] = [];
  for (const ms of [...samples(zone, fromYear, toYear), ...cases]) {
    const t = DateTime.fromMillis(ms, { zone });
    // A client's reading of a repeated or skipped wall time is its own; we never write one.
    if (!wallTimeIsUnambiguous(zone, t)) continue;
    const block = blockOffsetAt(zone, ms);
    if (block !== z.offset(ms)) differ.push(`${t.toISO()}: block ${block}, Luxon ${z.offset(ms)}`);
  }
  return differ;
}

describe("VTIMEZONE rules read by ical.js", () => {
  it.each(["America/Los_Angeles", "Europe/Berlin", "Asia/Tokyo"])(
    "%s: the block gives Luxon's offset at every unambiguous wall time, 2015–2027",
    (zone) => {
      expect(disagreements(zone, 2015, 2027).slice(0, 5)).toEqual([]);
    },
  );

  it("America/Sao_Paulo: agrees since Brazil dropped DST, and not during its old DST", () => {
    expect(disagreements("America/Sao_Paulo", 2020, 2027).slice(0, 5)).toEqual([]);
    const zone = "America/Sao_Paulo";
    const dst2018 = localToInstant("2018-11-05", "09:00", zone);
    expect(IANAZone.create(zone).offset(dst2018.toMillis())).toBe(-120);
    expect(blockOffsetAt(zone, dst2018.toMillis())).toBe(-180);
    expect(zoneRulesAgree(zone, [dst2018])).toBe(false);
    expect(zoneRulesAgree(zone, [localToInstant("2025-11-09", "09:00", zone)])).toBe(true);
  });
});
