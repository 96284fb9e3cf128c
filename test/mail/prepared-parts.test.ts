/**
 * The fast path and the slow path compose the same messages (issue 12). Every send the planner
 * makes for the two bundled events, and an update and a cancellation of every invite after an
 * edit, is composed with the parts prepared once per occurrence (src/calendar/invite-template.ts)
 * and without them; the raw MIME (Date, Message-ID, DTSTAMP and the boundaries fixed, so it is
 * deterministic) must be byte-identical. The fast invites are also parsed back with mailparser
 * and ical.js: each names its own recipient as the one ATTENDEE, with the DTSTAMP given.
 */
import { join } from "node:path";
import ICAL from "ical.js";
import { DateTime } from "luxon";
import { simpleParser } from "mailparser";
import type Mail from "nodemailer/lib/mailer/index.js";
import { afterEach, describe, expect, it } from "vitest";
import { KINDS } from "../../jobs/index.js";
import { buildInvite } from "../../src/calendar/invite.js";
import { inviteFor, setPreparedParts } from "../../src/calendar/invite-template.js";
import { loadConfig } from "../../src/config.js";
import type { CalendarParams } from "../../src/kind.js";
import { composeMessage } from "../../src/mail/compose.js";
import { toEml } from "../../src/mail/eml.js";
import { loadEventOrThrow } from "../../src/model/load.js";
import type { EventDefinition, Recipient } from "../../src/model/types.js";
import { plan } from "../../src/planner/plan.js";
import type { Send } from "../../src/planner/send.js";
import { ROOT } from "../support/cli.js";

const config = loadConfig({ UNSUBSCRIBE_SECRET: "test-secret" });
const STAMP = DateTime.fromISO("2017-06-01T16:04:05Z", { zone: "UTC" });

afterEach(() => setPreparedParts(true));

async function raw(
  def: EventDefinition,
  send: Send,
  prepared: boolean,
  calendar?: CalendarParams,
): Promise<string> {
  setPreparedParts(prepared);
  const msg = await composeMessage(def, send, {
    config,
    now: STAMP,
    ...(calendar ? { calendar } : {}),
  });
  // A fixed boundary: nodemailer otherwise draws a random one per message.
  const fixed = { ...msg, baseBoundary: "convene-equivalence" } as Mail.Options;
  return (await toEml(fixed)).raw.toString("utf8");
}

async function expectSame(
  def: EventDefinition,
  send: Send,
  calendar?: CalendarParams,
): Promise<string> {
  const fast = await raw(def, send, true, calendar);
  const slow = await raw(def, send, false, calendar);
  expect(fast, `${send.id} (${send.step}, ${calendar?.method ?? "planned"})`).toBe(slow);
  return fast;
}

async function expectInviteFor(rawMessage: string, send: Send, method: string): Promise<void> {
  const m = await simpleParser(rawMessage);
  const part = m.attachments.find((a) => a.contentType === "text/calendar");
  expect(part, send.id).toBeDefined();
  const cal = new ICAL.Component(ICAL.parse(part?.content.toString("utf8") ?? ""));
  expect(cal.getFirstPropertyValue("method")).toBe(method);
  const ev = cal.getFirstSubcomponent("vevent");
  const attendees = ev?.getAllProperties("attendee") ?? [];
  expect(attendees.map((a) => String(a.getFirstValue()).toLowerCase())).toEqual([
    `mailto:${send.recipient.toLowerCase()}`,
  ]);
  const stamp = ev?.getFirstPropertyValue("dtstamp") as ICAL.Time;
  expect(stamp.toJSDate().getTime()).toBe(STAMP.toMillis());
}

/** The definition with every day moved one hour later: what an update is sent for. */
function movedLater(def: EventDefinition): EventDefinition {
  const later = (t: string | undefined) =>
    t ? DateTime.fromFormat(t, "HH:mm").plus({ hours: 1 }).toFormat("HH:mm") : t;
  return {
    ...def,
    event: {
      ...def.event,
      days: def.event.days.map((d) => ({
        ...d,
        ...(d.start ? { start: later(d.start) } : {}),
        ...(d.end ? { end: later(d.end) } : {}),
      })),
    },
  };
}

const EVENTS = [
  { dir: "ca-lmi-2017", at: "2017-07-01T00:00:00Z" },
  { dir: "berlin-partnership-forum-2026", at: "2026-12-01T00:00:00Z" },
];

describe.each(EVENTS)("prepared parts compose the same messages: $dir", ({ dir, at }) => {
  const def = loadEventOrThrow(join(ROOT, "events", dir), KINDS);
  const sends = plan(def, def.registrations, DateTime.fromISO(at));
  const invites = sends.filter((s) => s.kind === "calendar-invite");

  it("every planned send, byte for byte", async () => {
    expect(invites.length).toBeGreaterThan(10);
    expect(sends.length).toBeGreaterThan(invites.length);
    for (const send of sends) {
      const fast = await expectSame(def, send);
      if (send.kind === "calendar-invite") await expectInviteFor(fast, send, "REQUEST");
    }
  }, 120_000);

  it("an update and a cancellation of every invite after an edit, byte for byte", async () => {
    const edited = movedLater(def);
    for (const send of invites) {
      const update = { ...send, version: 1 };
      const upd = await expectSame(edited, update, {
        sequence: 1,
        method: "REQUEST",
        changed: ["time"],
      });
      await expectInviteFor(upd, send, "REQUEST");
      const cancel = { ...send, version: 2 };
      const can = await expectSame(edited, cancel, { sequence: 2, method: "CANCEL" });
      await expectInviteFor(can, send, "CANCEL");
    }
  }, 120_000);
});

describe("an invite filled from its template equals one built whole", () => {
  const def = loadEventOrThrow(join(ROOT, "events", "ca-lmi-2017"), KINDS);
  const base = { itemId: "day-2017-06-21", sequence: 3, method: "REQUEST" as const, stamp: STAMP };
  const person = (name: string, email: string): Recipient => ({
    name,
    email,
    fields: {},
    source: { file: "test", line: 1 },
  });

  it.each([
    ["a plain name", person("Ana Ruiz", "ana@district.example")],
    ["non-ASCII", person("Zoë Ñúñez-Łukasiewicz", "zoe@district.example")],
    ["a quote and a backslash", person('Pat "PJ" O\\Neil', "pj@district.example")],
    ["a name long enough to fold", person("A".repeat(90), `${"b".repeat(40)}@district.example`)],
    ["a comma in the address (the slow path)", person("Odd", '"a,b"@district.example')],
    ["a name safeCn empties (the slow path)", person("\u0001", "ctl@district.example")],
  ])("%s", (_what, recipient) => {
    const whole = buildInvite(def, { ...base, recipient });
    // Twice: the second comes from the cached template.
    expect(inviteFor(def, { ...base, recipient })).toEqual(whole);
    expect(inviteFor(def, { ...base, recipient })).toEqual(whole);
  });

  it("refuses the organizer as attendee, as buildInvite does", () => {
    const organizer = person("Org", def.event.organizer.email.toUpperCase());
    expect(() => buildInvite(def, { ...base, recipient: organizer })).toThrow(/organizer/);
    expect(() => inviteFor(def, { ...base, recipient: organizer })).toThrow(/organizer/);
  });

  it("a different SEQUENCE or METHOD is not served from another's template", () => {
    const r = person("Ana Ruiz", "ana@district.example");
    for (const o of [
      { ...base, sequence: 4 },
      { ...base, method: "CANCEL" as const },
    ]) {
      inviteFor(def, { ...base, recipient: r });
      expect(inviteFor(def, { ...o, recipient: r })).toEqual(
        buildInvite(def, { ...o, recipient: r }),
      );
    }
  });
});
