import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import ICAL from "ical.js";
import { DateTime } from "luxon";
import { describe, expect, it } from "vitest";
import { createStores } from "../../src/store/index.js";
import {
  deletePrefix,
  dueSoon,
  inProcessWorker,
  people,
  type Received,
  startSmtp,
  testConfig,
  testHooks,
  uniquePrefix,
  until,
  writeEvent,
} from "./fixture.js";

const hooks = testHooks();
const { cleanups } = hooks;

function vevent(r: Received) {
  const cal = r.mail.attachments.find((a) => a.contentType === "text/calendar");
  expect(cal).toBeDefined();
  const comp = new ICAL.Component(ICAL.parse(cal?.content.toString("utf8") ?? ""));
  const ev = comp.getFirstSubcomponent("vevent");
  if (!ev) throw new Error("no VEVENT in the calendar part");
  return {
    method: comp.getFirstPropertyValue("method"),
    sequence: Number(ev.getFirstPropertyValue("sequence")),
    uid: String(ev.getFirstPropertyValue("uid")),
    start: (ev.getFirstPropertyValue("dtstart") as ICAL.Time).toJSDate().getTime(),
  };
}

describe("calendar lifecycle in the scheduler", () => {
  it("a time change after the invites went out sends each holder an update with a higher SEQUENCE", async () => {
    const prefix = uniquePrefix();
    const smtp = await startSmtp();
    const soon = dueSoon(3);
    const fx = writeEvent({
      people: people(3),
      registrations: [soon.registration],
      steps: [
        {
          id: "invite",
          kind: "calendar-invite",
          audience: "people",
          trigger: { anchor: "registration", offset: "1m" },
          when: { registered: true },
          items: ["day-2099-06-20"],
          missedWindow: "1h",
        },
      ],
    });
    cleanups.push(
      () => fx.cleanup(),
      () => smtp.close(),
      () => deletePrefix(prefix),
    );
    const stores = createStores(hooks.redis, prefix);
    const w = inProcessWorker({ paths: [fx.dir], config: testConfig(prefix, smtp.url) });
    cleanups.push(() => w.close());
    await smtp.waitFor(3);
    await until(
      "first invites recorded",
      async () =>
        [...(await stores.ledger.all("mini")).values()].filter((r) => r.state === "sent").length ===
        3,
    );
    const first = smtp.received.map(vevent);
    expect(first.map((v) => [v.method, v.sequence])).toEqual(Array(3).fill(["REQUEST", 0]));

    // The organizer moves the day from 09:00 to 10:00.
    const file = join(fx.dir, "event.yaml");
    writeFileSync(file, readFileSync(file, "utf8").replace('start: "09:00"', 'start: "10:00"'));
    await w.scheduler?.tick();
    await smtp.waitFor(6);
    const updates = smtp.received.slice(3).map(vevent);
    for (const u of updates) {
      expect(u.method).toBe("REQUEST");
      expect(u.sequence).toBe(1);
      expect(first.map((f) => f.uid)).toContain(u.uid);
      expect(u.start).toBe(
        DateTime.fromISO("2099-06-20T10:00", { zone: "America/Los_Angeles" }).toMillis(),
      );
    }
    expect(new Set(smtp.received.slice(3).map((r) => r.to)).size).toBe(3);
    // A further tick without a change issues nothing more.
    await w.scheduler?.tick();
    const all = await stores.ledger.all("mini");
    expect(all.size).toBe(6);
  });
});
