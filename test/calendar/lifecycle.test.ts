/**
 * The invite lifecycle against the real Redis: the CA LMI definition is edited between planning
 * runs, and each run's updates, first invites and cancellations are checked, then "delivered"
 * the way the worker will: rendered with buildInvite and recorded in the store.
 */

import { randomUUID } from "node:crypto";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Redis } from "ioredis";
import { DateTime } from "luxon";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { KINDS } from "../../jobs/index.js";
import { buildInvite } from "../../src/calendar/invite.js";
import { type CalendarSend, reconcile } from "../../src/calendar/lifecycle.js";
import { itemUid } from "../../src/calendar/uid.js";
import { loadEventOrThrow } from "../../src/model/load.js";
import type { EventDefinition } from "../../src/model/types.js";
import { plan } from "../../src/planner/plan.js";
import { type Send, sendId } from "../../src/planner/send.js";
import { RedisCalendarStateStore } from "../../src/store/calendar-state.js";
import { connectTestRedis, deletePrefix } from "../support/redis.js";
import { CA_LMI } from "./fixture.js";
import { expectChecklist, instantOf, parseIcs } from "./ics-checklist.js";

const EV = "ca-lmi-2017";
const NOW = DateTime.fromISO("2017-06-01T12:00", { zone: "America/Los_Angeles" });
const DAY2 = "day-2017-06-21";
const KEYNOTE = "day-2017-06-21-keynote";
const FAMILIES = "day-2017-06-21-breakout-3-families";
const LUNCH = "day-2017-06-21-lunch";
const SAC1 = "regional-cohort-training-sacramento-1";
const BAY3 = "regional-cohort-training-bay-area-3";

// biome-ignore lint/suspicious/noExplicitAny: free-form YAML edits in a test
type Yaml = any;

let dir: string;
let redis: Redis;
let store: RedisCalendarStateStore;
const prefix = `convene-test-${randomUUID()}`;

/** Rewrites the copied event.yaml (and campaign.yaml) through the edits, then loads it. */
function edit(fn: (ev: Yaml) => void, fnCampaign?: (cp: Yaml) => void): EventDefinition {
  for (const [name, f] of [
    ["event.yaml", fn],
    ["campaign.yaml", fnCampaign],
  ] as const) {
    if (!f) continue;
    const file = join(dir, name);
    const doc = parse(readFileSync(file, "utf8")) as Yaml;
    f(doc);
    writeFileSync(file, stringify(doc, { aliasDuplicateObjects: false }));
  }
  return loadEventOrThrow(dir, KINDS);
}

/** The test's extra step, which invites single sessions and cohort sessions. */
function sessionStep(cp: Yaml): Yaml {
  return cp.steps.find((s: Yaml) => s.id === "session-invites");
}

function day2(ev: Yaml): Yaml[] {
  return ev.days.find((d: Yaml) => d.date === "2017-06-21").sessions;
}

async function run(def: EventDefinition) {
  const sends = plan(def, def.registrations, NOW);
  const r = reconcile(def, sends, await store.load(EV), NOW);
  await store.save(EV, r.state);
  return { sends, ...r };
}

/** What the worker does per calendar send: render with the right SEQUENCE, then record it. */
async function deliver(def: EventDefinition, sends: (Send | CalendarSend)[]) {
  const out = new Map<string, string>();
  const checked = new Set<string>();
  for (const s of sends) {
    const item = s.item as string;
    const method = "method" in s ? s.method : "REQUEST";
    const sequence = s.version === 0 ? await store.sequence(EV, item) : s.version;
    const last = (await store.item(EV, item))?.snapshot;
    const person = Object.values(def.audiences)
      .flat()
      .find((p) => p.email === s.recipient);
    if (!person) throw new Error(`no recipient ${s.recipient}`);
    const inv = buildInvite(def, {
      itemId: item,
      recipient: person,
      sequence,
      method,
      stamp: NOW,
      ...(last ? { last } : {}),
    });
    // The full checklist once per item, method and SEQUENCE (the rest differ only by attendee).
    const kind = `${item} ${method} ${sequence}`;
    if (!checked.has(kind)) {
      checked.add(kind);
      expectChecklist(inv.ics, {
        method,
        organizer: def.event.organizer.email,
        attendee: person.email,
      });
    }
    expect(inv.ics).toContain(`\r\nATTENDEE;`);
    await store.recordDelivery(EV, item, s.recipient, { step: s.step, sequence, method });
    out.set(`${item} ${s.recipient}`, inv.ics);
  }
  return out;
}

function byItem(sends: Send[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of sends) out[s.item as string] = (out[s.item as string] ?? 0) + 1;
  return out;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "convene-cal-"));
  cpSync(CA_LMI, dir, { recursive: true });
  // One more step, so single sessions and cohort sessions are invited too.
  const file = join(dir, "campaign.yaml");
  const cp = parse(readFileSync(file, "utf8")) as Yaml;
  cp.steps.push({
    id: "session-invites",
    kind: "calendar-invite",
    audience: "team-members",
    subject: "Your sessions",
    trigger: { anchor: "registration" },
    when: { registered: true },
    items: [KEYNOTE, FAMILIES, LUNCH, SAC1, BAY3],
    missedWindow: "3d",
  });
  writeFileSync(file, stringify(cp));
  redis = connectTestRedis({ maxRetriesPerRequest: 1 });
  store = new RedisCalendarStateStore(redis, prefix);
});

afterAll(async () => {
  await store.clear(EV);
  await deletePrefix(prefix);
  await redis.quit();
  rmSync(dir, { recursive: true, force: true });
});

describe("calendar lifecycle with Redis", () => {
  const firstIcs = new Map<string, string>();
  let holders = 0;

  it("run 1: first invites only, all at SEQUENCE 0", async () => {
    const def = loadEventOrThrow(dir, KINDS);
    const r = await run(def);
    expect(r.updates).toEqual([]);
    expect(r.cancellations).toEqual([]);
    const cal = r.sends.filter((s) => s.kind === "calendar-invite");
    expect(r.firstInvites.map((s) => s.id).sort()).toEqual(cal.map((s) => s.id).sort());
    expect(byItem(r.firstInvites)[SAC1]).toBeUndefined(); // TBD: nothing
    holders = byItem(r.firstInvites)[DAY2] ?? 0;
    expect(holders).toBeGreaterThan(5);
    for (const [k, ics] of await deliver(def, r.firstInvites)) firstIcs.set(k, ics);
    for (const ics of firstIcs.values()) expect(ics).toContain("\r\nSEQUENCE:0\r\n");
  });

  it("re-running without an edit produces nothing new", async () => {
    const r = await run(loadEventOrThrow(dir, KINDS));
    expect([r.updates, r.cancellations, r.firstInvites, r.changes]).toEqual([[], [], [], []]);
  });

  it("run 2: moved session, changed room, dated cohort, removed session", async () => {
    const def = edit(
      (ev) => {
        const s = day2(ev);
        s.find((x: Yaml) => x.id === "keynote").start = "09:30";
        s
          .find((x: Yaml) => x.id === "breakout-3")
          .tracks.find((t: Yaml) => t.id === "families").room = "Shutters West 2";
        s.splice(
          s.findIndex((x: Yaml) => x.id === "lunch"),
          1,
        );
        ev.series[0].cohorts.find((c: Yaml) => c.id === "sacramento").sessions[0].date =
          "2017-09-12";
        // wording only: must not add anything by itself
        s.find((x: Yaml) => x.id === "wrap-up").description = "Thank you for coming.";
      },
      (cp) => {
        // the loader refuses a step naming an item that no longer exists
        const step = sessionStep(cp);
        step.items = step.items.filter((i: string) => i !== LUNCH);
      },
    );
    const r = await run(def);

    expect(
      Object.fromEntries(r.changes.map((c) => [c.item, [c.reason, c.fields, c.from, c.to]])),
    ).toEqual({
      [DAY2]: ["changed", ["agenda"], 0, 1],
      [FAMILIES]: ["changed", ["place"], 0, 1],
      [KEYNOTE]: ["changed", ["time"], 0, 1],
      [LUNCH]: ["removed", [], 0, 1],
    });
    expect(byItem(r.updates)).toEqual({ [DAY2]: holders, [FAMILIES]: holders, [KEYNOTE]: holders });
    expect(byItem(r.cancellations)).toEqual({ [LUNCH]: holders });
    expect(byItem(r.firstInvites)).toEqual({ [SAC1]: holders });
    for (const s of [...r.updates, ...r.cancellations]) {
      expect(s.version).toBe(1);
      expect(s.method).toBe(s.item === LUNCH ? "CANCEL" : "REQUEST");
      expect(s.id).toBe(
        sendId({ event: EV, step: s.step, recipient: s.recipient, item: s.item, version: 1 }),
      );
      expect(s.step).toBe(s.item === DAY2 ? "calendar-invite" : "session-invites");
    }

    const sent = await deliver(def, [...r.updates, ...r.cancellations, ...r.firstInvites]);
    const member = r.updates.find((s) => s.item === KEYNOTE)?.recipient as string;
    const keynote = parseIcs(sent.get(`${KEYNOTE} ${member}`) as string);
    const before = parseIcs(firstIcs.get(`${KEYNOTE} ${member}`) as string);
    expect(keynote.events[0]?.getFirstPropertyValue("uid")).toBe(
      before.events[0]?.getFirstPropertyValue("uid"),
    );
    expect(keynote.events[0]?.getFirstPropertyValue("uid")).toBe(itemUid(def.event, KEYNOTE));
    expect(keynote.events[0]?.getFirstPropertyValue("sequence")).toBe(1);
    expect(instantOf(keynote.events[0] as never, "dtstart")).toBe(
      DateTime.fromISO("2017-06-21T09:30", { zone: "America/Los_Angeles" }).toMillis(),
    );
    const families = parseIcs(sent.get(`${FAMILIES} ${member}`) as string).events[0];
    expect(String(families?.getFirstPropertyValue("location"))).toMatch(/^Shutters West 2, /);
    const day2Desc = String(
      parseIcs(sent.get(`${DAY2} ${member}`) as string).events[0]?.getFirstPropertyValue(
        "description",
      ),
    );
    expect(day2Desc).toContain("09:30–10:30  Keynote");
    expect(day2Desc).not.toContain("Lunch");

    // the removed session's cancellation: METHOD:CANCEL, same UID, higher SEQUENCE, old time
    const lunch = parseIcs(sent.get(`${LUNCH} ${member}`) as string);
    const lunchBefore = parseIcs(firstIcs.get(`${LUNCH} ${member}`) as string);
    expect(lunch.cal.getFirstPropertyValue("method")).toBe("CANCEL");
    expect(lunch.events[0]?.getFirstPropertyValue("uid")).toBe(
      lunchBefore.events[0]?.getFirstPropertyValue("uid"),
    );
    expect(lunch.events[0]?.getFirstPropertyValue("sequence")).toBe(1);
    expect(lunch.events[0]?.getFirstPropertyValue("status")).toBe("CANCELLED");
    expect(instantOf(lunch.events[0] as never, "dtstart")).toBe(
      instantOf(lunchBefore.events[0] as never, "dtstart"),
    );

    // the newly dated cohort session goes out as a first invite at SEQUENCE 0
    const sac = parseIcs(sent.get(`${SAC1} ${member}`) as string);
    expect(sac.cal.getFirstPropertyValue("method")).toBe("REQUEST");
    expect(sac.events[0]?.getFirstPropertyValue("sequence")).toBe(0);
    expect(String(sac.events[0]?.getFirstPropertyValue("dtstart"))).toBe("2017-09-12");
  });

  it("re-running after run 2 produces nothing new", async () => {
    const r = await run(loadEventOrThrow(dir, KINDS));
    expect([r.updates, r.cancellations, r.firstInvites, r.changes]).toEqual([[], [], [], []]);
  });

  it("description and speaker edits alone send nothing", async () => {
    const def = edit((ev) => {
      ev.description = "Reworded.";
      const s = day2(ev);
      s.find((x: Yaml) => x.id === "keynote").description = "A new blurb";
      s.find((x: Yaml) => x.id === "keynote").speakers = ["Pedro Noguera"];
      ev.days[1].description = "Now with a description.";
    });
    const r = await run(def);
    expect([r.updates, r.cancellations, r.firstInvites, r.changes]).toEqual([[], [], [], []]);
  });

  it("run 3: a cancelled status cancels; a restored session comes back with a higher SEQUENCE", async () => {
    const def = edit(
      (ev) => {
        ev.series[0].cohorts.find((c: Yaml) => c.id === "bay-area").sessions[2].status =
          "cancelled";
        const s = day2(ev);
        s.splice(s.findIndex((x: Yaml) => x.id === "team-time-4") + 1, 0, {
          id: "lunch",
          start: "12:30",
          end: "13:45",
          title: "Lunch",
        });
      },
      (cp) => {
        sessionStep(cp).items.push(LUNCH);
      },
    );
    const r = await run(def);
    expect(byItem(r.cancellations)).toEqual({ [BAY3]: holders });
    expect(byItem(r.updates)).toEqual({ [LUNCH]: holders, [DAY2]: holders });
    expect(r.cancellations.every((s) => s.version === 1 && s.method === "CANCEL")).toBe(true);
    expect(r.updates.filter((s) => s.item === LUNCH).every((s) => s.version === 2)).toBe(true);
    expect(r.updates.filter((s) => s.item === DAY2).every((s) => s.version === 2)).toBe(true);
    const sent = await deliver(def, [...r.cancellations, ...r.updates]);
    for (const [k, ics] of sent) {
      const e = parseIcs(ics).events[0];
      if (k.startsWith(BAY3)) {
        expect(e?.getFirstPropertyValue("status")).toBe("CANCELLED");
        expect(e?.getFirstPropertyValue("sequence")).toBe(1);
      } else expect(e?.getFirstPropertyValue("sequence")).toBe(2);
    }
    const again = await run(def);
    expect([again.updates, again.cancellations, again.firstInvites]).toEqual([[], [], []]);
  });

  it("keeps its keys under the test prefix", async () => {
    const keys = await redis.keys(`${prefix}:*`);
    expect(keys.sort()).toEqual(
      ["delivered", "issued", "items"].map((k) => `${prefix}:calendar:${EV}:${k}`),
    );
  });
});
