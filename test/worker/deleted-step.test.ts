/**
 * Issue 9, items 1 and 6, end to end (real Redis, real SMTP, parsed with mailparser and ical.js):
 * a CANCEL is composed from what convene stored when the invite went out, so deleting the
 * step that invited to an item, or only the item, still cancels it for every holder, and
 * `status` still knows what kind of step the deleted one was.
 * The tests run in order and share the worker, as an organizer's edits would.
 */

import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import ICAL from "ical.js";
import type { Redis } from "ioredis";
import { DateTime } from "luxon";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KINDS } from "../../jobs/index.js";
import { loadEventOrThrow } from "../../src/model/load.js";
import { plan } from "../../src/planner/plan.js";
import { createStores, type Stores } from "../../src/store/index.js";
import { computeStatus } from "../../src/worker/status.js";
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

const DAY1 = "day-2099-06-20";
const DAY2 = "day-2099-06-21";
const [ann, bob] = people(2);
if (!ann || !bob) throw new Error("fixture people");

const DAY_TWO_YAML = `  - date: 2099-06-21
    start: "09:00"
    end: "15:00"
    title: Day two
`;
/** Never invited: keeps the event valid once both invited days are deleted. */
const DAY_THREE_YAML = `  - date: 2099-06-22
    title: Day three
`;
const DAY_ONE_YAML = `  - date: 2099-06-20
    start: "09:00"
    end: "16:00"
    title: Day one
`;

function step(id: string, items: string[], subject: string): object {
  return {
    id,
    kind: "calendar-invite",
    audience: "people",
    subject,
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
    from: r.mail.from?.value[0]?.address,
    method: String(cal.getFirstPropertyValue("method")),
    uid: String(ev.getFirstPropertyValue("uid")),
    sequence: Number(ev.getFirstPropertyValue("sequence")),
    status: String(ev.getFirstPropertyValue("status")),
    summary: String(ev.getFirstPropertyValue("summary")),
    organizer: String(ev.getFirstPropertyValue("organizer")),
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
const uids = new Map<string, string>();

/** Waits for `n` messages in all and for the worker to have recorded each as held. */
async function received(n: number): Promise<Parsed[]> {
  await smtp.waitFor(n, 20_000);
  const msgs = smtp.received.map(parse);
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

async function failed(): Promise<string[]> {
  const ledger = await stores.ledger.all("mini");
  return [...ledger.values()].filter((r) => r.state === "failed").map((r) => r.reason ?? "");
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
    steps: [step("invite", [DAY1], "Mini invite"), step("invite-extra", [DAY2], "Extra day")],
  });
  editEvent((y) => y.replace(/^audiences:/m, `${DAY_TWO_YAML}${DAY_THREE_YAML}audiences:`));
  w = inProcessWorker({ paths: [fx.dir], config: testConfig(prefix, smtp.url) });
  for (const f of await received(4)) {
    expect([f.method, f.sequence]).toEqual(["REQUEST", 0]);
    uids.set(f.summary, f.uid);
  }
}, 60_000);

afterAll(async () => {
  await w?.close();
  await smtp?.close();
  fx?.cleanup();
  await deletePrefix(prefix);
  redis?.disconnect();
});

describe("cancelling after the step that invited is gone", () => {
  it("a session deleted together with its step is cancelled for every holder", async () => {
    editEvent((y) => y.replace(DAY_TWO_YAML, ""));
    fx.setSteps([step("invite", [DAY1], "Mini invite")]);
    await w.scheduler?.tick();
    await until("two more messages or a failure", async () => {
      return smtp.received.length >= 6 || (await failed()).length > 0;
    });
    expect(await failed()).toEqual([]);
    const cancels = (await received(6)).slice(4);
    expect(cancels.map((c) => c.to).sort()).toEqual([ann.email, bob.email]);
    for (const c of cancels) {
      expect([c.method, c.status]).toEqual(["CANCEL", "CANCELLED"]);
      expect(c.uid).toBe(uids.get("Day two"));
      expect(c.sequence).toBe(1);
      expect(c.start).toBe(
        DateTime.fromISO("2099-06-21T09:00", { zone: "America/Los_Angeles" }).toMillis(),
      );
      // Worded from the deleted step's own subject, as the invite was.
      expect(c.subject).toMatch(/^Cancelled: Extra day/);
      expect(c.subject).toContain("Day two");
      expect(c.organizer).toBe("mailto:org@mini.test");
      expect(c.from).toBe("org@mini.test");
    }
    const name = Object.fromEntries(cancels.map((c) => [c.to, c.text]));
    expect(name[ann.email]).toContain(`Dear ${ann.name}`);
  }, 60_000);

  it("status shows the deleted step with the kind it had, not a guess (item 6)", async () => {
    const def = loadEventOrThrow(fx.dir, KINDS);
    const now = DateTime.utc();
    const regs = [...def.registrations, ...(await stores.registrations.list("mini"))];
    const { status } = computeStatus(
      def,
      plan(def, regs, now),
      await stores.ledger.all("mini"),
      await stores.control.get("mini"),
      now,
    );
    const extra = status.steps.find((s) => s.step === "invite-extra");
    expect(extra?.kind).toBe("calendar-invite");
    expect(extra?.planned).toBeGreaterThanOrEqual(4);
  });

  it("a session deleted while a step still lists it is cancelled, not a stuck definition", async () => {
    editEvent((y) => y.replace(DAY_ONE_YAML, ""));
    await w.scheduler?.tick();
    await until("two more messages", () => smtp.received.length >= 8, 20_000);
    const cancels = (await received(8)).slice(6);
    expect(cancels.map((c) => c.to).sort()).toEqual([ann.email, bob.email]);
    for (const c of cancels) {
      expect([c.method, c.status]).toEqual(["CANCEL", "CANCELLED"]);
      expect(c.uid).toBe(uids.get("Day one"));
      expect(c.sequence).toBe(1);
      expect(c.subject).toMatch(/^Cancelled: Mini invite/);
    }
    expect(await failed()).toEqual([]);
  }, 60_000);
});
