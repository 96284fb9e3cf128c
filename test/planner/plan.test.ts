import { DateTime } from "luxon";
import { afterAll, describe, expect, it } from "vitest";
import { KINDS } from "../../jobs/index.js";
import { loadEventOrThrow } from "../../src/model/load.js";
import type { EventDefinition } from "../../src/model/types.js";
import { plan } from "../../src/planner/plan.js";
import { sendId } from "../../src/planner/send.js";
import { baseFiles, removeDir, writeEventDir } from "../support/event-dir.js";

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

function load(campaign: string, overrides: Record<string, string> = {}): EventDefinition {
  const dir = writeEventDir(baseFiles(campaign, overrides));
  dirs.push(dir);
  return loadEventOrThrow(dir, KINDS);
}

const LATER = "2030-01-01T00:00:00Z";
const utc = (iso: string) => DateTime.fromISO(iso, { zone: "UTC" }).toISO();

describe("planner: triggers", () => {
  it("reads an absolute `at` as wall-clock time in the event's zone", () => {
    const def = load(`steps:
  - id: letter
    kind: invitation-letter
    audience: supers
    trigger: { at: "2017-05-15 09:00" }
`);
    const sends = plan(def, def.registrations, LATER);
    expect(sends).toHaveLength(3);
    for (const s of sends) {
      expect(s.due).toBe(utc("2017-05-15T16:00:00Z"));
      expect(s.dueLocal).toBe("2017-05-15T09:00:00.000-07:00");
    }
  });

  it("treats a deadline date as the end of that local day", () => {
    const def = load(`steps:
  - id: at-deadline
    kind: deadline-reminder
    audience: supers
    trigger: { anchor: registration-deadline }
`);
    const [s] = plan(def, [], LATER);
    expect(s?.due).toBe(utc("2017-05-27T07:00:00Z"));
  });

  it("counts days from the anchor's local date when the time of day is fixed", () => {
    const def = load(`steps:
  - id: r7
    kind: deadline-reminder
    audience: supers
    trigger: { anchor: registration-deadline, offset: -7d, time: "09:00" }
  - id: r1
    kind: deadline-reminder
    audience: supers
    trigger: { anchor: registration-deadline, offset: -1d, time: "09:00" }
`);
    const sends = plan(def, [], LATER);
    expect(new Set(sends.filter((s) => s.step === "r7").map((s) => s.dueLocal))).toEqual(
      new Set(["2017-05-19T09:00:00.000-07:00"]),
    );
    expect(new Set(sends.filter((s) => s.step === "r1").map((s) => s.dueLocal))).toEqual(
      new Set(["2017-05-25T09:00:00.000-07:00"]),
    );
  });

  it("anchors on event start and end, with hour offsets as elapsed time", () => {
    const def = load(`steps:
  - id: before
    kind: announcement
    audience: supers
    trigger: { anchor: event-start, offset: -2h }
  - id: after
    kind: press-release-prompt
    audience: supers
    trigger: { anchor: event-end, offset: 1d, time: "10:00" }
`);
    const sends = plan(def, [], LATER);
    // The first day has no times: it starts at local midnight.
    expect(sends.find((s) => s.step === "before")?.dueLocal).toBe("2017-06-19T22:00:00.000-07:00");
    // The last day ends 15:30; one day later at 10:00.
    expect(sends.find((s) => s.step === "after")?.dueLocal).toBe("2017-06-22T10:00:00.000-07:00");
  });

  it("anchors on a session's start", () => {
    const def = load(`steps:
  - id: morning-of
    kind: announcement
    audience: supers
    trigger: { anchor: "item:day-two-keynote", offset: -20m }
`);
    expect(plan(def, [], LATER)[0]?.dueLocal).toBe("2017-06-21T09:00:00.000-07:00");
  });

  it("can fire at each recipient's own local time", () => {
    const def = load(`steps:
  - id: letter
    kind: invitation-letter
    audience: supers
    trigger: { at: "2017-05-15 09:00", zone: recipient }
`);
    const byRecipient = new Map(plan(def, [], LATER).map((s) => [s.recipient, s]));
    expect(byRecipient.get("b@district-b.test")?.due).toBe(utc("2017-05-15T13:00:00Z"));
    expect(byRecipient.get("b@district-b.test")?.dueLocal).toBe("2017-05-15T09:00:00.000-04:00");
    expect(byRecipient.get("a@district-a.test")?.due).toBe(utc("2017-05-15T16:00:00Z"));
  });

  it("moves a send into its send window", () => {
    // 2017-05-20 is a Saturday: the weekday window moves it to Monday 08:00.
    const def = load(`steps:
  - id: r
    kind: deadline-reminder
    audience: supers
    trigger: { anchor: registration-deadline, offset: -6d, time: "07:00" }
    sendWindow: { days: [mon, tue, wed, thu, fri], start: "08:00", end: "18:00" }
`);
    expect(plan(def, [], LATER)[0]?.dueLocal).toBe("2017-05-22T08:00:00.000-07:00");
  });

  it("sets expires from the missed window, one day by default", () => {
    const def = load(`steps:
  - id: a
    kind: invitation-letter
    audience: supers
    trigger: { at: "2017-05-15 09:00" }
  - id: b
    kind: invitation-letter
    audience: supers
    trigger: { at: "2017-05-15 09:00" }
    missedWindow: 36h
`);
    const sends = plan(def, [], LATER);
    expect(sends.find((s) => s.step === "a")?.expires).toBe(utc("2017-05-16T16:00:00Z"));
    expect(sends.find((s) => s.step === "b")?.expires).toBe(utc("2017-05-17T04:00:00Z"));
  });
});

describe("planner: daylight saving time", () => {
  const at = (when: string) =>
    load(`steps:
  - id: s
    kind: announcement
    audience: supers
    trigger: { at: "${when}" }
`);

  it("reads a time in the spring gap with the offset before the gap (RFC 5545)", () => {
    // 02:30 does not exist on 2017-03-12 in Los Angeles; it means 03:30 PDT.
    const [s] = plan(at("2017-03-12 02:30"), [], LATER);
    expect(s?.due).toBe(utc("2017-03-12T10:30:00Z"));
  });

  it("reads an ambiguous autumn time as its first occurrence (RFC 5545)", () => {
    const [s] = plan(at("2017-11-05 01:30"), [], LATER);
    expect(s?.due).toBe(utc("2017-11-05T08:30:00Z"));
    expect(s?.dueLocal).toBe("2017-11-05T01:30:00.000-07:00");
  });

  it("keeps calendar days as days across a DST change", () => {
    const def = load(`steps:
  - id: s
    kind: announcement
    audience: supers
    trigger: { anchor: "item:day-two", offset: -100d }
`);
    // 100 calendar days before 2017-06-21 09:00 PDT is 2017-03-13 09:00 PDT, not 08:00.
    expect(plan(def, [], LATER)[0]?.dueLocal).toBe("2017-03-13T09:00:00.000-07:00");
    const def2 = load(`steps:
  - id: s
    kind: announcement
    audience: supers
    trigger: { anchor: "item:day-two", offset: -102d }
`);
    // ...and across the change, 2017-03-11 09:00 PST.
    expect(plan(def2, [], LATER)[0]?.dueLocal).toBe("2017-03-11T09:00:00.000-08:00");
  });
});

describe("planner: conditions and registrations", () => {
  const reminders = `steps:
  - id: r7
    kind: deadline-reminder
    audience: supers
    trigger: { anchor: registration-deadline, offset: -7d, time: "09:00" }
    when: { registered: false }
  - id: r1
    kind: deadline-reminder
    audience: supers
    trigger: { anchor: registration-deadline, offset: -1d, time: "09:00" }
    when: { registered: false }
`;

  it("reminds only those whose team had not registered by the due time", () => {
    const def = load(reminders);
    const sends = plan(def, def.registrations, LATER);
    const to = (step: string) =>
      sends
        .filter((s) => s.step === step)
        .map((s) => s.recipient)
        .sort();
    // team-a registered May 16: no reminders. team-b registered May 22: only the first.
    expect(to("r7")).toEqual(["b@district-b.test", "c@county.test"]);
    expect(to("r1")).toEqual(["c@county.test"]);
  });

  it("does not know registrations recorded after `now`", () => {
    const def = load(reminders);
    const sends = plan(def, def.registrations, "2017-05-20T00:00:00-07:00");
    // As of May 20, team-b has not registered yet, so it is still due the second reminder.
    expect(
      sends
        .filter((s) => s.step === "r1")
        .map((s) => s.recipient)
        .sort(),
    ).toEqual(["b@district-b.test", "c@county.test"]);
  });

  it("sends on-registration invites to registered teams' members, per calendar item", () => {
    const def = load(`steps:
  - id: invite
    kind: calendar-invite
    audience: members
    trigger: { anchor: registration }
    when: { registered: true }
`);
    const sends = plan(def, def.registrations, LATER);
    expect(sends).toHaveLength(8); // 4 members x 2 days
    const bea = sends.filter((s) => s.recipient === "b2@district-b.test");
    expect(bea.map((s) => s.item).sort()).toEqual(["day-2017-06-20", "day-two"]);
    expect(bea[0]?.due).toBe(utc("2017-05-22T20:15:00Z"));
    expect(sends.find((s) => s.recipient === "a@district-a.test")?.dueLocal).toBe(
      "2017-05-16T10:00:00.000-07:00",
    );
    // Before anyone registered, nothing is planned.
    expect(plan(def, def.registrations, "2017-05-01T00:00:00Z")).toEqual([]);
  });

  it("filters recipients by CSV columns", () => {
    const def = load(`steps:
  - id: pre
    kind: calendar-invite
    audience: members
    trigger: { anchor: registration }
    when: { registered: true, where: { new: "yes" } }
    items: [day-2017-06-20]
`);
    expect(
      plan(def, def.registrations, LATER)
        .map((s) => s.recipient)
        .sort(),
    ).toEqual(["a2@district-a.test", "a@district-a.test"]);
  });

  it("produces nothing for TBD sessions until they have a date", () => {
    const campaign = `steps:
  - id: cohort
    kind: calendar-invite
    audience: members
    trigger: { at: "2017-01-05 09:00" }
    items: [training-north-1]
  - id: before-cohort
    kind: announcement
    audience: supers
    trigger: { anchor: "item:training-north-1", offset: -7d, time: "09:00" }
`;
    expect(plan(load(campaign), [], LATER)).toEqual([]);
    const dated = load(campaign).event;
    const def = load(campaign);
    void dated;
    const series = def.event.series?.[0]?.cohorts[0]?.sessions[0];
    if (!series) throw new Error("fixture changed");
    series.date = "2017-02-01";
    const sends = plan(def, [], LATER);
    expect(sends.filter((s) => s.step === "cohort")).toHaveLength(4);
    expect(sends.find((s) => s.step === "before-cohort")?.dueLocal).toBe(
      "2017-01-25T09:00:00.000-08:00",
    );
  });
});

describe("planner: ids and order", () => {
  const campaign = `steps:
  - id: letter
    kind: invitation-letter
    audience: supers
    trigger: { at: "2017-05-15 09:00" }
  - id: invite
    kind: calendar-invite
    audience: members
    trigger: { anchor: registration }
`;

  it("gives the same ids for the same inputs, unique and safe as BullMQ job ids", () => {
    const a = plan(load(campaign), load(campaign).registrations, LATER);
    const b = plan(load(campaign), load(campaign).registrations, LATER);
    expect(a.map((s) => s.id)).toEqual(b.map((s) => s.id));
    expect(new Set(a.map((s) => s.id)).size).toBe(a.length);
    for (const s of a) expect(s.id).toMatch(/^demo\.(letter|invite)\.[0-9a-f]{16}$/);
  });

  it("keeps a send's id when only its time moves", () => {
    const moved = campaign.replace("2017-05-15 09:00", "2017-05-16 11:00");
    const before = plan(load(campaign), [], LATER).filter((s) => s.step === "letter");
    const after = plan(load(moved), [], LATER).filter((s) => s.step === "letter");
    expect(after.map((s) => s.id)).toEqual(before.map((s) => s.id));
    expect(after[0]?.due).not.toBe(before[0]?.due);
  });

  it("lists sends in time order", () => {
    const def = load(campaign);
    const dues = plan(def, def.registrations, LATER).map((s) => s.due);
    expect(dues).toEqual([...dues].sort());
    expect(dues[0]).toBe(utc("2017-05-15T16:00:00Z"));
  });
});

describe("planner: due times kept with the definition (issue 12)", () => {
  const def = loadEventOrThrow(`${process.cwd()}/events/ca-lmi-2017`, KINDS);
  const dueOf = (d: EventDefinition, step: string) =>
    plan(d, d.registrations, LATER).find((s) => s.step === step)?.due;

  it("names every send as sendId does, planned again from the same definition or not", () => {
    const first = plan(def, def.registrations, LATER);
    const again = plan(def, def.registrations, LATER);
    expect(again.map((s) => s.id)).toEqual(first.map((s) => s.id));
    expect(new Set(again.map((s) => s.item)).size).toBeGreaterThan(1);
    for (const s of again)
      expect(s.id).toBe(
        sendId({ event: s.event, step: s.step, recipient: s.recipient, item: s.item, version: 0 }),
      );
  });

  it("an edit that keeps the step objects still moves their sends", () => {
    const before = dueOf(def, "press-release-prompt");
    // An edited definition spread from the old one shares its step objects, but not its event.
    const moved: EventDefinition = {
      ...def,
      event: {
        ...def.event,
        days: def.event.days.map((d) => ({
          ...d,
          date: DateTime.fromISO(d.date).plus({ days: 7 }).toISODate() as string,
        })),
      },
    };
    const after = dueOf(moved, "press-release-prompt");
    expect(before).toBeDefined();
    expect(
      DateTime.fromISO(after as string).diff(DateTime.fromISO(before as string), "days").days,
    ).toBe(7);
    expect(dueOf(def, "press-release-prompt")).toBe(before);
  });
});
