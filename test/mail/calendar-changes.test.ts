/**
 * Calendar updates and cancellations as messages (review findings 1-3): a CANCEL for an item no
 * longer in the definition is built from the snapshot attendees hold, a recipient who left the
 * audience can still be cancelled, and updates/cancellations say what they are in the subject
 * and the cover. Parsed back with mailparser and ical.js.
 */

import { join } from "node:path";
import ICAL from "ical.js";
import { DateTime } from "luxon";
import { type ParsedMail, simpleParser } from "mailparser";
import { describe, expect, it } from "vitest";
import { KINDS } from "../../jobs/index.js";
import { itemSnapshot } from "../../src/calendar/snapshot.js";
import { loadConfig } from "../../src/config.js";
import { type ComposeOptions, composeMessage, renderSend } from "../../src/mail/compose.js";
import { toEml } from "../../src/mail/eml.js";
import { itemsOf } from "../../src/model/items.js";
import { loadEventOrThrow } from "../../src/model/load.js";
import type { EventDefinition } from "../../src/model/types.js";
import { plan } from "../../src/planner/plan.js";
import type { Send } from "../../src/planner/send.js";
import { ROOT } from "../support/cli.js";

const config = loadConfig({ UNSUBSCRIBE_SECRET: "test-secret" });
const def = loadEventOrThrow(join(ROOT, "events", "ca-lmi-2017"), KINDS);
const sends = plan(def, def.registrations, DateTime.fromISO("2017-07-01T00:00:00Z"));
const stamp = DateTime.fromISO("2017-06-01T16:00:00Z");
const DAY1 = "day-2017-06-20";
const DAY2 = "day-2017-06-21";

function inviteOf(item: string): Send {
  const s = sends.find((x) => x.step === "calendar-invite" && x.item === item);
  if (!s) throw new Error(`no invite for ${item}`);
  return s;
}

/** The definition after the organizer deleted Day 2 (and the step's reference to it). */
function withoutDay2(): EventDefinition {
  return {
    ...def,
    event: { ...def.event, days: def.event.days.filter((d) => d.date !== "2017-06-21") },
    campaign: {
      ...def.campaign,
      steps: def.campaign.steps.map((s) =>
        s.id === "calendar-invite" ? { ...s, items: [DAY1] } : s,
      ),
    },
  };
}

function day2Snapshot() {
  const item = itemsOf(def.event).find((i) => i.id === DAY2);
  if (!item) throw new Error("no Day 2");
  return itemSnapshot(def.event, item);
}

async function parsed(d: EventDefinition, send: Send, o: Omit<ComposeOptions, "config">) {
  const msg = await composeMessage(d, send, { config, now: stamp, ...o });
  return simpleParser((await toEml(msg)).raw);
}

function calendarOf(m: ParsedMail) {
  const part = m.attachments.find((a) => a.contentType === "text/calendar");
  if (!part) throw new Error("no text/calendar part");
  const cal = new ICAL.Component(ICAL.parse(part.content.toString("utf8")));
  const ev = cal.getFirstSubcomponent("vevent");
  if (!ev) throw new Error("no VEVENT");
  return {
    method: String(cal.getFirstPropertyValue("method")),
    uid: String(ev.getFirstPropertyValue("uid")),
    sequence: Number(ev.getFirstPropertyValue("sequence")),
    status: String(ev.getFirstPropertyValue("status")),
    summary: String(ev.getFirstPropertyValue("summary")),
    start: (ev.getFirstPropertyValue("dtstart") as ICAL.Time).toJSDate().getTime(),
    attendees: ev.getAllProperties("attendee").map((p) => String(p.getFirstValue())),
  };
}

describe("cancelling an item removed from the definition (finding 1)", () => {
  it("is built from the snapshot attendees hold: same UID, CANCEL, and a cover about that item", async () => {
    const send = inviteOf(DAY2);
    const original = calendarOf(await parsed(def, send, {}));
    const m = await parsed(
      withoutDay2(),
      { ...send, version: 1 },
      { calendar: { sequence: 1, method: "CANCEL", last: day2Snapshot() } },
    );
    const c = calendarOf(m);
    expect(c.method).toBe("CANCEL");
    expect(c.status).toBe("CANCELLED");
    expect(c.uid).toBe(original.uid);
    expect(c.sequence).toBe(1);
    expect(c.summary).toBe("CA LMI 2017 Summer Institute – Day 2");
    expect(c.start).toBe(
      DateTime.fromISO("2017-06-21T09:00", { zone: "America/Los_Angeles" }).toMillis(),
    );
    expect(m.subject).toMatch(/^Cancelled: /);
    expect(m.subject).toContain("Day 2");
    expect(m.text).toContain("CA LMI 2017 Summer Institute – Day 2");
    expect(m.text).toContain("June 21, 2017");
    expect(m.text).not.toContain("Day 1");
    expect(m.text).not.toContain("June 20");
  });

  it("without the snapshot the cover refuses, instead of describing another day", async () => {
    const send = { ...inviteOf(DAY2), version: 1 };
    await expect(
      renderSend(withoutDay2(), send, { config, calendar: { sequence: 1, method: "CANCEL" } }),
    ).rejects.toThrow(/day-2017-06-21/);
  });
});

describe("cancelling for a recipient who left the audience (finding 2)", () => {
  const gone: Send = {
    ...inviteOf(DAY1),
    recipient: "left.district@example.org",
    name: "Lee Left",
    version: 1,
  };

  it("sends the CANCEL to the address that holds the invite", async () => {
    const m = await parsed(def, gone, { calendar: { sequence: 1, method: "CANCEL" } });
    const to = Array.isArray(m.to) ? m.to[0] : m.to;
    expect(to?.value[0]?.address).toBe("left.district@example.org");
    const c = calendarOf(m);
    expect(c.method).toBe("CANCEL");
    expect(c.attendees).toEqual(["mailto:left.district@example.org"]);
    expect(m.subject).toMatch(/^Cancelled: /);
  });

  it("still refuses to invite someone outside the audience", async () => {
    await expect(
      composeMessage(def, gone, { config, calendar: { sequence: 1, method: "REQUEST" } }),
    ).rejects.toThrow(/not in audience/);
  });
});

describe("updates and cancellations say what they are (finding 3)", () => {
  it("an update is 'Updated:', names its item, and its cover says what changed", async () => {
    const send = { ...inviteOf(DAY2), version: 1 };
    const m = await parsed(def, send, {
      calendar: { sequence: 1, method: "REQUEST", changed: ["time", "place"] },
    });
    expect(m.subject).toMatch(/^Updated: /);
    expect(m.subject).toContain("Day 2");
    expect(m.text).toMatch(/has changed/);
    expect(m.text).toContain("time and place");
    expect(m.text).not.toContain("adds this to your calendar");
    const c = calendarOf(m);
    expect([c.method, c.sequence]).toEqual(["REQUEST", 1]);
  });

  it("a cancellation of an item still defined is 'Cancelled:' despite the step's subject", async () => {
    const send = { ...inviteOf(DAY2), version: 2 };
    const m = await parsed(def, send, { calendar: { sequence: 2, method: "CANCEL" } });
    expect(m.subject).toMatch(/^Cancelled: /);
    expect(m.subject).toContain("Day 2");
    expect(m.text).toMatch(/is cancelled/);
    expect(m.text).not.toContain("Agenda");
  });

  it("the first invites of a two-day step are told apart by their subjects", async () => {
    const one = await parsed(def, inviteOf(DAY1), {});
    const two = await parsed(def, inviteOf(DAY2), {});
    expect(one.subject).not.toBe(two.subject);
    expect(one.subject).toContain("Day 1");
    expect(two.subject).toContain("Day 2");
    expect(one.subject).not.toMatch(/^(Updated|Cancelled):/);
    expect(one.text).toContain("adds this to your calendar");
  });
});
