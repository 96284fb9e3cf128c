/**
 * Issue 9, item 1, at the composer: an update or CANCEL is built from what convene stored when
 * the recipient's copy went out (the item's snapshot and the delivery's basis), whatever has
 * happened since to the step, the recipient's row or the organizer. Parsed back with
 * mailparser and ical.js.
 */

import { join } from "node:path";
import ICAL from "ical.js";
import { DateTime } from "luxon";
import { simpleParser } from "mailparser";
import { describe, expect, it } from "vitest";
import { KINDS } from "../../jobs/index.js";
import { basisOf } from "../../src/calendar/basis.js";
import { itemSnapshot } from "../../src/calendar/snapshot.js";
import { loadConfig } from "../../src/config.js";
import { composeMessage } from "../../src/mail/compose.js";
import { toEml } from "../../src/mail/eml.js";
import { itemsOf } from "../../src/model/items.js";
import { loadEventOrThrow } from "../../src/model/load.js";
import type { EventDefinition } from "../../src/model/types.js";
import type { Send } from "../../src/planner/send.js";
import { ROOT } from "../support/cli.js";

const config = loadConfig({ UNSUBSCRIBE_SECRET: "test-secret" });
const def = loadEventOrThrow(join(ROOT, "events", "ca-lmi-2017"), KINDS);
const DAY2 = "day-2017-06-21";
const step = def.campaign.steps.find((s) => s.kind === "calendar-invite");
if (!step) throw new Error("the example has a calendar-invite step");
const item = itemsOf(def.event).find((i) => i.id === DAY2);
if (!item) throw new Error("no Day 2");
const snapshot = itemSnapshot(def.event, item);
const basis = { ...basisOf(def.event, step, DAY2), subject: "Your Day 2 seat" };

/**
 * The organizer deleted Day 2 and the step that invited to it, the recipient left the CSV,
 * and the event's organizer address changed.
 */
const edited: EventDefinition = {
  ...def,
  event: {
    ...def.event,
    organizer: { ...def.event.organizer, name: "New Team", email: "new@elsewhere.test" },
    days: def.event.days.filter((d) => d.date !== "2017-06-21"),
  },
  campaign: { steps: def.campaign.steps.filter((s) => s.id !== step.id) },
};

const cancel: Send = {
  id: "ca-lmi-2017.gone-step.0123456789abcdef",
  event: def.event.id,
  step: step.id,
  kind: "calendar-invite",
  recipient: "lee.left@example.org",
  name: "Lee Left",
  item: DAY2,
  version: 1,
  due: "2017-06-10T16:00:00.000Z",
  dueLocal: "2017-06-10T09:00:00.000-07:00",
  zone: def.event.timezone,
  expires: "2017-06-21T23:00:00.000Z",
};

async function composed(calendar: Parameters<typeof composeMessage>[2]["calendar"]) {
  const msg = await composeMessage(edited, cancel, {
    config,
    now: DateTime.fromISO("2017-06-10T16:00:00Z"),
    ...(calendar ? { calendar } : {}),
  });
  const m = await simpleParser((await toEml(msg)).raw);
  const part = m.attachments.find((a) => a.contentType === "text/calendar");
  const cal = new ICAL.Component(ICAL.parse(part?.content.toString("utf8") ?? ""));
  const ev = cal.getFirstSubcomponent("vevent");
  if (!ev) throw new Error("no VEVENT");
  return {
    m,
    method: String(cal.getFirstPropertyValue("method")),
    uid: String(ev.getFirstPropertyValue("uid")),
    organizer: String(ev.getFirstPropertyValue("organizer")),
    start: (ev.getFirstPropertyValue("dtstart") as ICAL.Time).toJSDate().getTime(),
  };
}

describe("a CANCEL whose step, recipient row and item are gone", () => {
  it("is composed from the stored basis: its wording, organizer and UID", async () => {
    const c = await composed({ sequence: 1, method: "CANCEL", last: snapshot, basis });
    expect(c.method).toBe("CANCEL");
    expect(c.uid).toBe(`${DAY2}.${def.event.id}@cdefoundation.org`);
    expect(c.organizer).toBe(`mailto:${def.event.organizer.email}`);
    expect(c.m.from?.value[0]?.address).toBe(def.event.organizer.email);
    expect(c.m.subject).toMatch(/^Cancelled: Your Day 2 seat/);
    expect(c.m.text).toContain("Lee Left");
    expect(c.start).toBe(
      DateTime.fromISO("2017-06-21T09:00", { zone: "America/Los_Angeles" }).toMillis(),
    );
  });

  it("without a stored basis (older records) still goes out, in convene's own wording", async () => {
    const c = await composed({ sequence: 1, method: "CANCEL", last: snapshot });
    expect(c.method).toBe("CANCEL");
    expect(c.m.subject).toMatch(/^Cancelled: /);
    expect(c.m.subject).toContain("Day 2");
  });

  it("an invite (REQUEST) for a step that is gone is still refused", async () => {
    await expect(composeMessage(edited, { ...cancel, version: 0 }, { config })).rejects.toThrow(
      /no step/,
    );
  });
});
