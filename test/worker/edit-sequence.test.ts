/**
 * Issue 9, item 7: an organizer's edits, end to end, through a worker and a real SMTP server on
 * loopback. Every received message is parsed with mailparser and ical.js, and its instants are
 * compared with Luxon's. A small event in Europe/Berlin on the day clocks go forward, so the
 * check does not lean on the CA LMI example or on the server's zone.
 *
 *   (1) invite              → REQUEST, SEQUENCE 0 for each dated item; the TBD one sends nothing
 *   (2) move a session      → its holders get REQUEST, SEQUENCE 1, the new time
 *   (3) date a TBD session  → first invites, SEQUENCE 0 (nobody held it, so nothing to update)
 *   (4) change a room       → its holders get REQUEST, SEQUENCE 1, the new LOCATION
 *   (5) delete a session together with its step → CANCEL to exactly its holders
 *   (6) change only a description → nothing is sent
 *   (7) put the deleted session back → REQUEST to its former holders, SEQUENCE above the CANCEL
 *
 * Throughout: one UID per item, stable; SEQUENCE strictly increasing per item and recipient.
 * The steps run in order and share the worker.
 */

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import ICAL from "ical.js";
import type { Redis } from "ioredis";
import { DateTime } from "luxon";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KINDS } from "../../jobs/index.js";
import { loadConfig } from "../../src/config.js";
import { checkTemplates } from "../../src/mail/check.js";
import { loadEventOrThrow } from "../../src/model/load.js";
import { createStores, type Stores } from "../../src/store/index.js";
import type { RunningWorker } from "../../src/worker/worker.js";
import { removeDir, writeEventDir } from "../support/event-dir.js";
import {
  connectTestRedis,
  deletePrefix,
  dueSoon,
  inProcessWorker,
  type Received,
  sleep,
  startSmtp,
  testConfig,
  uniquePrefix,
  until,
} from "./fixture.js";

const ZONE = "Europe/Berlin";
/** 2099-03-29 is the last Sunday of March: Berlin moves from +01:00 to +02:00 at 02:00. */
const DAY = "2099-03-29";
const OPENING = "werkstatt-eroeffnung";
const PRACTICE = "werkstatt-praxis";
const EXTRA = "werkstatt-zusatz";
const COURSE = "kurs-k1-1";

const ann = { email: "ann@people.test", name: "Ann Ärger", team: "t1" };
const bob = { email: "bob@people.test", name: "Bob Brandt", team: "t2" };
const cy = { email: "cy@people.test", name: "Cy Çelik", team: "t1" };
const everyone = [ann.email, bob.email, cy.email].sort();
const team1 = [ann.email, cy.email].sort();

/** What the organizer edits, step by step. */
interface Edits {
  opening: { start: string; end: string; description: string };
  practiceRoom: string;
  extra: boolean;
  course: { date: string; start?: string; end?: string };
}

function eventYaml(e: Edits): string {
  const course =
    e.course.date === "TBD"
      ? "date: TBD"
      : `date: ${e.course.date}\n            start: "${e.course.start}"\n            end: "${e.course.end}"\n            location: { name: Seminarraum D }`;
  const extra = e.extra
    ? `      - id: zusatz
        start: "14:00"
        end: "15:00"
        title: Zusatztermin
        room: Saal C
`
    : "";
  return `id: berlin
title: Werkstatt Berlin
timezone: ${ZONE}
organizer:
  name: Werkstatt Team
  email: org@berlin.test
  domain: berlin.test
contact:
  name: Kim Kontakt
  email: kim@berlin.test
venue:
  name: Haus am See
  address: Seestraße 1, Berlin
  rooms: [Saal A, Saal B, Saal C, Saal E]
registration:
  deadline: 2099-03-01
days:
  - id: werkstatt
    date: ${DAY}
    start: "09:00"
    end: "17:00"
    title: Werkstatt
    sessions:
      - id: eroeffnung
        start: "${e.opening.start}"
        end: "${e.opening.end}"
        title: Eröffnung
        room: Saal A
        description: ${JSON.stringify(e.opening.description)}
      - id: praxis
        start: "11:00"
        end: "12:30"
        title: Praxis
        room: ${e.practiceRoom}
${extra}series:
  - id: kurs
    title: Kurs
    sessions:
      - number: 1
        title: Grundlagen
    cohorts:
      - id: k1
        name: Kohorte 1
        sessions:
          - session: 1
            ${course}
audiences:
  people:
    file: recipients/people.csv
registrations:
  file: recipients/registrations.csv
`;
}

function inviteStep(id: string, items: string[], extra: object = {}): object {
  return {
    id,
    kind: "calendar-invite",
    audience: "people",
    trigger: { anchor: "registration", offset: "1m" },
    when: { registered: true },
    items,
    missedWindow: "1h",
    ...extra,
  };
}

function campaignYaml(withExtra: boolean): string {
  const steps = [
    // The TBD item first: validate and the worker both accept it (issue 9, item 2).
    inviteStep("invite", [COURSE, OPENING, PRACTICE]),
    ...(withExtra
      ? [inviteStep("invite-extra", [EXTRA], { when: { where: { team: "t1" } } })]
      : []),
  ];
  return `${JSON.stringify({ steps }, null, 2)}\n`;
}

function parse(r: Received) {
  const part = r.mail.attachments.find((a) => a.contentType === "text/calendar");
  if (!part) throw new Error(`no calendar part in the mail to ${r.to}`);
  const ics = part.content.toString("utf8");
  const cal = new ICAL.Component(ICAL.parse(ics));
  const ev = cal.getFirstSubcomponent("vevent");
  if (!ev) throw new Error("no VEVENT");
  const start = ev.getFirstProperty("dtstart");
  if (!start) throw new Error("no DTSTART");
  return {
    to: r.to,
    from: r.mail.from?.value[0]?.address,
    subject: r.mail.subject ?? "",
    ics,
    partMethod: (part.headers.get("content-type") as { params?: Record<string, string> })?.params
      ?.method,
    method: String(cal.getFirstPropertyValue("method")),
    zones: cal.getAllSubcomponents("vtimezone").map((z) => String(z.getFirstPropertyValue("tzid"))),
    uid: String(ev.getFirstPropertyValue("uid")),
    sequence: Number(ev.getFirstPropertyValue("sequence")),
    status: String(ev.getFirstPropertyValue("status")),
    summary: String(ev.getFirstPropertyValue("summary")),
    location: String(ev.getFirstPropertyValue("location") ?? ""),
    organizer: String(ev.getFirstPropertyValue("organizer")),
    attendees: ev.getAllProperties("attendee").map((p) => String(p.getFirstValue())),
    tzid: start.getParameter("tzid"),
    start: (start.getFirstValue() as ICAL.Time).toJSDate().getTime(),
    end: (ev.getFirstPropertyValue("dtend") as ICAL.Time).toJSDate().getTime(),
  };
}
type Parsed = ReturnType<typeof parse>;

const at = (date: string, time: string) =>
  DateTime.fromISO(`${date}T${time}`, { zone: ZONE }).toMillis();
const uidOf = (item: string) => `${item}.berlin@berlin.test`;

let redis: Redis;
let smtp: Awaited<ReturnType<typeof startSmtp>>;
let dir: string;
let w: RunningWorker;
let stores: Stores;
const prefix = uniquePrefix();
const edits: Edits = {
  opening: { start: "09:00", end: "10:00", description: "Begrüßung und Überblick." },
  practiceRoom: "Saal B",
  extra: true,
  course: { date: "TBD" },
};

function write(): void {
  writeFileSync(join(dir, "event.yaml"), eventYaml(edits));
  writeFileSync(join(dir, "campaign.yaml"), campaignYaml(edits.extra));
}

/** Waits for `n` messages in all and for the worker to have recorded who holds what. */
async function received(n: number): Promise<Parsed[]> {
  await smtp.waitFor(n, 20_000);
  const msgs = smtp.received.map(parse);
  await until("calendar deliveries recorded", async () => {
    const state = await stores.calendar.load("berlin");
    const held = Object.values(state.items).flatMap((i) =>
      Object.entries(i.recipients).map(
        ([email, r]) => `${email} ${r.delivered?.sequence} ${r.delivered?.method}`,
      ),
    );
    return msgs.every(
      (m) =>
        held.includes(`${m.to} ${m.sequence} ${m.method}`) ||
        msgs.some((o) => o.to === m.to && o.uid === m.uid && o.sequence > m.sequence),
    );
  });
  return msgs;
}

/** Ticks the scheduler after an edit and returns the `count` messages it caused. */
async function afterEdit(total: number, count: number): Promise<Parsed[]> {
  await w.scheduler?.tick();
  return (await received(total)).slice(total - count);
}

/** Checks every message against the invariants that hold whatever the edit. */
function checkMessage(m: Parsed): void {
  expect(m.partMethod).toBe(m.method);
  expect(m.zones).toEqual([ZONE]);
  expect(m.tzid).toBe(ZONE);
  expect(m.ics).toMatch(/\r\nDTSTAMP:\d{8}T\d{6}Z\r\n/);
  expect(m.ics).not.toContain("TZID=UTC");
  expect(m.organizer).toBe("mailto:org@berlin.test");
  expect(m.from).toBe("org@berlin.test");
  expect(m.attendees).toEqual([`mailto:${m.to}`]);
  expect(m.end).toBeGreaterThan(m.start);
  expect(m.status).toBe(m.method === "CANCEL" ? "CANCELLED" : "CONFIRMED");
  if (m.method === "CANCEL") expect(m.ics).not.toContain("BEGIN:VALARM");
}

function expectBatch(
  msgs: Parsed[],
  o: { item: string; method: "REQUEST" | "CANCEL"; sequence: number; to: string[] },
): void {
  expect(msgs.map((m) => m.to).sort()).toEqual(o.to);
  for (const m of msgs) {
    checkMessage(m);
    expect(m.uid).toBe(uidOf(o.item));
    expect([m.method, m.sequence]).toEqual([o.method, o.sequence]);
  }
}

beforeAll(async () => {
  redis = connectTestRedis();
  stores = createStores(redis, prefix);
  smtp = await startSmtp();
  const soon = dueSoon(3);
  const csv = [ann, bob, cy].map((p) => `${p.email},${p.name},${p.team}`).join("\n");
  dir = writeEventDir(
    {
      "event.yaml": eventYaml(edits),
      "campaign.yaml": campaignYaml(true),
      "recipients/people.csv": `email,name,team\n${csv}\n`,
      "recipients/registrations.csv": `team,registered_at\n${["t1", "t2"]
        .map((t) => `${t},${soon.registration.at.toUTC().toISO({ suppressMilliseconds: true })}`)
        .join("\n")}\n`,
    },
    [],
  );
  w = inProcessWorker({ paths: [dir], config: testConfig(prefix, smtp.url) });
}, 30_000);

afterAll(async () => {
  await w?.close();
  await smtp?.close();
  if (dir) removeDir(dir);
  await deletePrefix(prefix);
  redis?.disconnect();
});

describe("an organizer's edits, end to end", () => {
  it("(1) invite: every dated item at SEQUENCE 0, nothing for the TBD one", async () => {
    const first = await received(8);
    const by = (item: string) => first.filter((m) => m.uid === uidOf(item));
    expectBatch(by(OPENING), { item: OPENING, method: "REQUEST", sequence: 0, to: everyone });
    expectBatch(by(PRACTICE), { item: PRACTICE, method: "REQUEST", sequence: 0, to: everyone });
    expectBatch(by(EXTRA), { item: EXTRA, method: "REQUEST", sequence: 0, to: team1 });
    for (const m of by(OPENING)) {
      expect(m.start).toBe(at(DAY, "09:00"));
      expect(m.end).toBe(at(DAY, "10:00"));
      expect(m.location).toBe("Saal A, Haus am See, Seestraße 1, Berlin");
      expect(m.summary).toContain("Eröffnung");
    }
    expect(first.some((m) => m.uid === uidOf(COURSE))).toBe(false);
    // `convene validate` agrees that a step listing a TBD item first is fine.
    expect(await checkTemplates(loadEventOrThrow(dir, KINDS), loadConfig({}))).toEqual([]);
  }, 60_000);

  it("(2) a session moves: its holders get the new time at SEQUENCE 1", async () => {
    edits.opening = { ...edits.opening, start: "09:30", end: "10:45" };
    write();
    const msgs = await afterEdit(11, 3);
    expectBatch(msgs, { item: OPENING, method: "REQUEST", sequence: 1, to: everyone });
    for (const m of msgs) {
      expect(m.start).toBe(at(DAY, "09:30"));
      expect(m.end).toBe(at(DAY, "10:45"));
      expect(m.subject).toMatch(/^Updated: /);
    }
  }, 60_000);

  it("(3) a TBD session gets a date: first invites at SEQUENCE 0", async () => {
    edits.course = { date: "2099-03-30", start: "10:00", end: "12:00" };
    write();
    const msgs = await afterEdit(14, 3);
    expectBatch(msgs, { item: COURSE, method: "REQUEST", sequence: 0, to: everyone });
    for (const m of msgs) {
      expect(m.start).toBe(at("2099-03-30", "10:00"));
      expect(m.end).toBe(at("2099-03-30", "12:00"));
      expect(m.location).toBe("Seminarraum D");
      expect(m.subject).not.toMatch(/^(Updated|Cancelled): /);
    }
  }, 60_000);

  it("(4) a room changes: its holders get the new LOCATION at SEQUENCE 1", async () => {
    edits.practiceRoom = "Saal E";
    write();
    const msgs = await afterEdit(17, 3);
    expectBatch(msgs, { item: PRACTICE, method: "REQUEST", sequence: 1, to: everyone });
    for (const m of msgs) {
      expect(m.location).toBe("Saal E, Haus am See, Seestraße 1, Berlin");
      expect(m.start).toBe(at(DAY, "11:00"));
    }
  }, 60_000);

  it("(5) a session deleted with its step: CANCEL to exactly its holders", async () => {
    edits.extra = false;
    write();
    const msgs = await afterEdit(19, 2);
    expectBatch(msgs, { item: EXTRA, method: "CANCEL", sequence: 1, to: team1 });
    for (const m of msgs) {
      expect(m.start).toBe(at(DAY, "14:00"));
      expect(m.summary).toContain("Zusatztermin");
      expect(m.subject).toMatch(/^Cancelled: /);
    }
    const ledger = [...(await stores.ledger.all("berlin")).values()];
    expect(ledger.filter((r) => r.state !== "sent")).toEqual([]);
  }, 60_000);

  it("(6) a description-only edit sends nothing", async () => {
    edits.opening = { ...edits.opening, description: "Begrüßung, Überblick und Kaffee." };
    write();
    await w.scheduler?.tick();
    await sleep(3_000);
    await w.scheduler?.tick();
    await sleep(1_000);
    expect(smtp.received.length).toBe(19);
    const ledger = await stores.ledger.all("berlin");
    expect(ledger.size).toBe(19);
  }, 30_000);

  it("(7) the deleted session comes back: REQUEST to its former holders above the CANCEL", async () => {
    edits.extra = true;
    write();
    const msgs = await afterEdit(21, 2);
    expectBatch(msgs, { item: EXTRA, method: "REQUEST", sequence: 2, to: team1 });
    for (const m of msgs) expect(m.start).toBe(at(DAY, "14:00"));
  }, 60_000);

  it("over the whole sequence: one UID per item, SEQUENCE strictly increasing per holder", async () => {
    const all = smtp.received.map(parse);
    const seqs = new Map<string, number[]>();
    for (const m of all) {
      const k = `${m.uid} ${m.to}`;
      seqs.set(k, [...(seqs.get(k) ?? []), m.sequence]);
    }
    for (const [k, s] of seqs)
      expect(s, k).toEqual([...s].sort((a, b) => a - b).filter((x, i, xs) => xs.indexOf(x) === i));
    expect(new Set(all.map((m) => m.uid))).toEqual(
      new Set([OPENING, PRACTICE, EXTRA, COURSE].map(uidOf)),
    );
    // Received in order: a later message to the same holder never carries a lower SEQUENCE.
    expect(seqs.get(`${uidOf(EXTRA)} ${ann.email}`)).toEqual([0, 1, 2]);
    expect(seqs.get(`${uidOf(OPENING)} ${bob.email}`)).toEqual([0, 1]);
  });
});
