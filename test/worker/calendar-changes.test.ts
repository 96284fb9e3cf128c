/**
 * End to end (real Redis, real SMTP, parsed with mailparser and ical.js): after the first
 * invites went out, definition edits reach every holder as updates and cancellations that say
 * what they are. One event goes through the edits in order, as an organizer would make them:
 *   (a) Day one moves          → each holder gets REQUEST, same UID, SEQUENCE 1, "Updated:"
 *   (b) Day two is deleted     → each holder gets CANCEL for Day two, "Cancelled:"
 *   (c) a person leaves the CSV → they get the CANCEL of the day they still hold
 * The tests of this file therefore run in order and share the worker.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import ICAL from "ical.js";
import type { Redis } from "ioredis";
import { DateTime } from "luxon";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createStores, type Stores } from "../../src/store/index.js";
import type { RunningWorker } from "../../src/worker/worker.js";
import {
  connectTestRedis,
  deletePrefix,
  dueSoon,
  type EventFixture,
  inProcessWorker,
  people,
  type Received,
  startSmtp,
  testConfig,
  uniquePrefix,
  until,
  writeEvent,
} from "./fixture.js";

const ZONE = "America/Los_Angeles";
const DAY1 = "day-2099-06-20";
const DAY2 = "day-2099-06-21";
const [ann, bob] = people(2);
if (!ann || !bob) throw new Error("fixture people");

const DAY_TWO_YAML = `  - date: 2099-06-21
    start: "09:00"
    end: "15:00"
    title: Day two
`;

function inviteStep(items: string[]): object {
  return {
    id: "invite",
    kind: "calendar-invite",
    audience: "people",
    trigger: { anchor: "registration", offset: "1m" },
    when: { registered: true },
    items,
    missedWindow: "1h",
  };
}

function parse(r: Received) {
  const part = r.mail.attachments.find((a) => a.contentType === "text/calendar");
  if (!part) throw new Error(`no calendar part in the mail to ${r.to}`);
  const cal = new ICAL.Component(ICAL.parse(part.content.toString("utf8")));
  const ev = cal.getFirstSubcomponent("vevent");
  if (!ev) throw new Error("no VEVENT");
  return {
    to: r.to,
    subject: r.mail.subject ?? "",
    text: r.mail.text ?? "",
    /** The `method=` parameter of the text/calendar part's Content-Type. */
    partMethod: (part.headers.get("content-type") as { params?: Record<string, string> })?.params
      ?.method,
    method: String(cal.getFirstPropertyValue("method")),
    uid: String(ev.getFirstPropertyValue("uid")),
    sequence: Number(ev.getFirstPropertyValue("sequence")),
    status: String(ev.getFirstPropertyValue("status")),
    summary: String(ev.getFirstPropertyValue("summary")),
    start: (ev.getFirstPropertyValue("dtstart") as ICAL.Time).toJSDate().getTime(),
  };
}
type Parsed = ReturnType<typeof parse>;

let redis: Redis;
let smtp: Awaited<ReturnType<typeof startSmtp>>;
let fx: EventFixture;
let w: RunningWorker;
let stores: Stores;
const prefix = uniquePrefix();
/** UID of each item as the first invites carried it. */
const uids = new Map<string, string>();

/** Waits for `n` messages in all, then until the worker recorded who holds what. */
async function received(n: number): Promise<Parsed[]> {
  await smtp.waitFor(n, 20_000);
  await until("deliveries recorded", async () => {
    const ledger = await stores.ledger.all("mini");
    return [...ledger.values()].filter((r) => r.state === "sent").length >= n;
  });
  const msgs = smtp.received.map(parse);
  // The worker records who holds which version right after SMTP accepted it; the next edit
  // is only meaningful once every message so far is recorded.
  await until("calendar deliveries recorded", async () => {
    const state = await stores.calendar.load("mini");
    const held = Object.values(state.items).flatMap((i) =>
      Object.entries(i.recipients).map(
        ([email, r]) => `${email} ${r.delivered?.sequence} ${r.delivered?.method}`,
      ),
    );
    return msgs.every(
      (m) => held.includes(`${m.to} ${m.sequence} ${m.method}`) || superseded(m, msgs),
    );
  });
  return msgs;
}

/** An earlier message to the same person for the same item, replaced by a later one. */
function superseded(m: Parsed, all: Parsed[]): boolean {
  return all.some((o) => o.to === m.to && o.uid === m.uid && o.sequence > m.sequence);
}

function editEvent(fn: (yaml: string) => string): void {
  const file = join(fx.dir, "event.yaml");
  writeFileSync(file, fn(readFileSync(file, "utf8")));
}

beforeAll(async () => {
  redis = connectTestRedis();
  stores = createStores(redis, prefix);
  smtp = await startSmtp();
  const soon = dueSoon(3);
  fx = writeEvent({
    people: [ann, bob],
    registrations: [soon.registration],
    steps: [inviteStep([DAY1, DAY2])],
  });
  editEvent((y) => `${y.trimEnd()}\n`.replace(/^audiences:/m, `${DAY_TWO_YAML}audiences:`));
  w = inProcessWorker({ paths: [fx.dir], config: testConfig(prefix, smtp.url) });
  const first = await received(4);
  for (const f of first) {
    expect([f.method, f.sequence]).toEqual(["REQUEST", 0]);
    uids.set(f.summary, f.uid);
  }
  expect([...uids.keys()].sort()).toEqual(["Day one", "Day two"]);
}, 60_000);

afterAll(async () => {
  await w?.close();
  await smtp?.close();
  fx?.cleanup();
  await deletePrefix(prefix);
  redis?.disconnect();
});

describe("definition edits after the first invites went out", () => {
  it("(a) Day one moves: every holder gets an update with the same UID and SEQUENCE 1", async () => {
    editEvent((y) =>
      y.replace('start: "09:00"\n    end: "16:00"', 'start: "10:00"\n    end: "16:00"'),
    );
    await w.scheduler?.tick();
    const updates = (await received(6)).slice(4);
    expect(updates.map((u) => u.to).sort()).toEqual([ann.email, bob.email]);
    for (const u of updates) {
      expect(u.method).toBe("REQUEST");
      expect(u.partMethod).toBe("REQUEST");
      expect(u.uid).toBe(uids.get("Day one"));
      expect(u.sequence).toBe(1);
      expect(u.status).toBe("CONFIRMED");
      expect(u.start).toBe(DateTime.fromISO("2099-06-20T10:00", { zone: ZONE }).toMillis());
      expect(u.subject).toMatch(/^Updated: /);
      expect(u.subject).toContain("Day one");
      expect(u.text).toMatch(/Day one has changed \(time\)/);
      expect(u.text).toContain("10:00 AM");
    }
  }, 60_000);

  it("(b) Day two is deleted: every holder gets its CANCEL, with a cover about Day two", async () => {
    editEvent((y) => y.replace(DAY_TWO_YAML, ""));
    fx.setSteps([inviteStep([DAY1])]);
    await w.scheduler?.tick();
    const cancels = (await received(8)).slice(6);
    expect(cancels.map((c) => c.to).sort()).toEqual([ann.email, bob.email]);
    for (const c of cancels) {
      expect(c.method).toBe("CANCEL");
      expect(c.partMethod).toBe("CANCEL");
      expect(c.status).toBe("CANCELLED");
      expect(c.uid).toBe(uids.get("Day two"));
      expect(c.sequence).toBeGreaterThan(0);
      expect(c.start).toBe(DateTime.fromISO("2099-06-21T09:00", { zone: ZONE }).toMillis());
      expect(c.subject).toMatch(/^Cancelled: /);
      expect(c.subject).toContain("Day two");
      expect(c.text).toContain("Day two");
      expect(c.text).toContain("June 21, 2099");
      expect(c.text).toMatch(/is cancelled/);
      expect(c.text).not.toContain("Day one");
      expect(c.text).not.toContain("June 20");
    }
    const ledger = [...(await stores.ledger.all("mini")).values()];
    expect(ledger.filter((r) => r.state === "failed")).toEqual([]);
  }, 60_000);

  it("(c) a person removed from the CSV gets the CANCEL of the day they still hold", async () => {
    fx.setPeople([ann]);
    await w.scheduler?.tick();
    const [c, ...more] = (await received(9)).slice(8);
    expect(more).toEqual([]);
    expect(c?.to).toBe(bob.email);
    expect(c?.method).toBe("CANCEL");
    expect(c?.status).toBe("CANCELLED");
    expect(c?.uid).toBe(uids.get("Day one"));
    expect(c?.sequence).toBeGreaterThan(1);
    expect(c?.subject).toMatch(/^Cancelled: /);
    expect(c?.subject).toContain("Day one");
    expect(c?.text).toContain(`Dear ${bob.name}:`);
    // Nothing else is issued on a further tick, and nothing failed.
    await w.scheduler?.tick();
    const ledger = [...(await stores.ledger.all("mini")).values()];
    expect(ledger.length).toBe(9);
    expect(ledger.every((r) => r.state === "sent")).toBe(true);
  }, 60_000);
});
