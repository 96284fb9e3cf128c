/**
 * Every time a message body shows is an instant the calendar holds, whatever the server's TZ:
 * the Berlin example (a DST night, a Tokyo cohort, recipients in five zones) is rendered in
 * child processes under UTC, Asia/Tokyo and America/Los_Angeles, and each body's times are
 * compared with the items' instants and with the VEVENTs of its calendar parts (ical.js).
 */

import { spawnSync } from "node:child_process";
import { join } from "node:path";
import ICAL from "ical.js";
import { DateTime } from "luxon";
import { describe, expect, it } from "vitest";
import { KINDS } from "../../jobs/index.js";
import { itemsOf } from "../../src/model/items.js";
import { loadEventOrThrow } from "../../src/model/load.js";
import { ROOT } from "../support/cli.js";
import { BERLIN } from "./messages.js";

interface Printed {
  step: string;
  kind: string;
  item?: string;
  recipient: string;
  text: string;
  calendars: string[];
}

function render(TZ: string): Printed[] {
  const r = spawnSync(
    process.execPath,
    ["--import", "tsx", join(ROOT, "test", "render", "print-messages.ts"), BERLIN],
    { cwd: ROOT, env: { ...process.env, TZ }, encoding: "utf8", timeout: 120_000 },
  );
  if (r.status !== 0) throw new Error(`TZ=${TZ}: ${r.stderr}`);
  return JSON.parse(r.stdout) as Printed[];
}

const def = loadEventOrThrow(BERLIN, KINDS);

/** "3:30 AM", as bodies write times, for every start and end of a timed item, in its zone. */
function itemTimes(): Set<string> {
  const out = new Set<string>();
  for (const item of itemsOf(def.event)) {
    if (item.when.type !== "timed") continue;
    const zone = item.zone ?? def.event.timezone;
    for (const t of [item.when.start, item.when.end])
      out.add(t.setZone(zone).setLocale("en-US").toFormat("h:mm a"));
  }
  return out;
}

const TIME_RE = /\b(\d{1,2}:\d{2} [AP]M)\b/g;
/** "When: Sunday, March 29, 2026, 1:00 AM GMT+1 – 12:00 PM GMT+2" */
const WHEN_RE =
  /When: (\w+, \w+ \d+, \d{4}), (\d{1,2}:\d{2} [AP]M)(?: GMT([+-]\d+))? – (\d{1,2}:\d{2} [AP]M) GMT([+-]\d+)/;

function instant(date: string, time: string, offset: string): number {
  return DateTime.fromFormat(`${date} ${time}`, "cccc, LLLL d, yyyy h:mm a", {
    zone: `UTC${offset}`,
    locale: "en-US",
  }).toMillis();
}

function timedEvents(ics: string): { start: number; end: number }[] {
  return new ICAL.Component(ICAL.parse(ics))
    .getAllSubcomponents("vevent")
    .map((e) => [e.getFirstPropertyValue("dtstart"), e.getFirstPropertyValue("dtend")])
    .filter(([s]) => !(s as ICAL.Time).isDate)
    .map(([s, e]) => ({
      start: (s as ICAL.Time).toJSDate().getTime(),
      end: (e as ICAL.Time).toJSDate().getTime(),
    }));
}

describe("times in the Berlin example's message bodies", () => {
  const runs = ["UTC", "Asia/Tokyo", "America/Los_Angeles"].map((TZ) => ({ TZ, out: render(TZ) }));
  const allowed = itemTimes();

  it("are the same bytes whatever the server's TZ", () => {
    const [first, ...rest] = runs;
    expect(first?.out.length).toBeGreaterThan(20);
    for (const r of rest) expect(r.out, `TZ=${r.TZ}`).toEqual(first?.out);
  });

  it("are all times of calendar items", () => {
    for (const { TZ, out } of runs)
      for (const m of out)
        for (const [, t] of m.text.matchAll(TIME_RE))
          expect(allowed.has(t as string), `TZ=${TZ} ${m.step}: ${t}`).toBe(true);
  });

  it("say, in an invite's When line, the instants its calendar part holds", () => {
    let checked = 0;
    for (const { TZ, out } of runs)
      for (const m of out.filter((x) => x.kind === "calendar-invite")) {
        const events = timedEvents(m.calendars[0] ?? "");
        const when = WHEN_RE.exec(m.text);
        if (!events.length) continue;
        expect(when, `TZ=${TZ} ${m.step} ${m.item}: When line`).not.toBeNull();
        const [, date, a, offA, b, offB] = when as RegExpExecArray;
        expect(instant(date as string, a as string, offA ?? (offB as string))).toBe(
          events[0]?.start,
        );
        expect(instant(date as string, b as string, offB as string)).toBe(events[0]?.end);
        checked++;
      }
    expect(checked).toBeGreaterThan(3);
  });

  it("show every timed VEVENT of an attached calendar", () => {
    // The letter attaches the whole agenda for importing; its body lists no session times.
    for (const { TZ, out } of runs)
      for (const m of out.filter((x) => x.kind !== "invitation-letter"))
        for (const ics of m.calendars)
          for (const e of timedEvents(ics)) {
            const item = itemsOf(def.event).find(
              (i) => i.when.type === "timed" && +i.when.start === e.start,
            );
            const zone = item?.zone ?? def.event.timezone;
            const shown = DateTime.fromMillis(e.start, { zone }).setLocale("en-US");
            expect(m.text, `TZ=${TZ} ${m.step}`).toContain(shown.toFormat("h:mm a"));
          }
  });
});
