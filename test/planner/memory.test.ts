/**
 * What a loaded definition and its plan keep in memory per recipient: a worker holds both for
 * as long as the event is loaded, so at 100,000 recipients every byte a row keeps is 100 KB of
 * heap, and V8 grows the heap to a multiple of what is live (issue 12's peak RSS). The bounds
 * sit between what the code keeps now (about 345 bytes a row and 280 a send, here) and what it
 * kept before (about 480 and 400): one string per cell, a `fields` object per row, and a send id
 * as a two-byte concatenation over its hash's hex.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { afterAll, describe, expect, it } from "vitest";
import { KINDS } from "../../jobs/index.js";
import { loadEventOrThrow } from "../../src/model/load.js";
import type { EventDefinition } from "../../src/model/types.js";
import { plan } from "../../src/planner/plan.js";
import { sendId } from "../../src/planner/send.js";
import { BASE_EVENT, removeDir, writeEventDir } from "../support/event-dir.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

const ROWS = 20_000;
const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

/** Rows as a real audience has them: unique people, a few organizations, titles and teams. */
function supersCsv(rows: number): string {
  const lines = ["email,name,salutation,title,organization,team"];
  for (let i = 0; i < rows; i++) {
    const n = String(i).padStart(6, "0");
    const d = i % 40;
    lines.push(
      `p${n}@d${d}.k12.test,Person ${n},Dr. ${n},Superintendent,District ${d} USD,team-${d}`,
    );
  }
  return `${lines.join("\n")}\n`;
}

function bigEvent(): string {
  // BASE_EVENT has an em dash nowhere; the real event.yaml has several, which is what made
  // every id derived from its event id two-byte.
  const event = BASE_EVENT.replace("title: Demo Institute", "title: Demo Institute — 2017");
  const dir = writeEventDir({
    "event.yaml": event,
    "campaign.yaml": `steps:
  - id: letter
    kind: invitation-letter
    audience: supers
    trigger: { at: "2017-05-15 09:00" }
`,
    "supers.csv": supersCsv(ROWS),
    "members.csv": "email,name,team\nm@d0.k12.test,M,team-0\n",
    "registrations.csv": "team,registered_at\n",
  });
  dirs.push(dir);
  return dir;
}

/** Heap bytes `make` leaves reachable through what it returns, after full collections. */
function retained<T>(make: () => T): { value: T; bytes: number } {
  gc();
  gc();
  const before = process.memoryUsage().heapUsed;
  const value = make();
  gc();
  gc();
  return { value, bytes: process.memoryUsage().heapUsed - before };
}

describe("memory kept per recipient (issue 12)", () => {
  const dir = bigEvent();
  let def: EventDefinition | undefined;

  it("a loaded recipients file keeps under 400 bytes a row", () => {
    const loaded = retained(() => loadEventOrThrow(dir, KINDS));
    def = loaded.value;
    expect(def.audiences.supers).toHaveLength(ROWS);
    expect(loaded.bytes / ROWS).toBeLessThan(400);
  });

  it("a plan keeps under 340 bytes a send", () => {
    if (!def) throw new Error("the definition did not load");
    const d = def;
    const planned = retained(() => plan(d, d.registrations, "2030-01-01T00:00:00Z"));
    expect(planned.value).toHaveLength(ROWS);
    expect(planned.bytes / ROWS).toBeLessThan(340);
  });

  it("repeated values are one string, and rows without other columns share their fields", () => {
    const supers = def?.audiences.supers ?? [];
    const [a, b] = [supers[0], supers[40]];
    expect(a?.organization).toBe(b?.organization);
    expect(a?.fields).toEqual({});
    expect(a?.fields).toBe(b?.fields);
    expect(Object.isFrozen(a?.fields)).toBe(true);
  });
});

describe("a plan made again", () => {
  const dir = bigEvent();
  const def = loadEventOrThrow(dir, KINDS);
  const at = "2030-01-01T00:00:00Z";

  it("gives the same send objects while they say the same, so a full tick makes no new ones", () => {
    const first = plan(def, def.registrations, at);
    const again = retained(() => plan(def, def.registrations, at));
    expect(again.value).toHaveLength(ROWS);
    expect(again.value.filter((s, i) => s !== first[i])).toHaveLength(0);
    // The new plan's array, not a second set of sends.
    expect(again.bytes / ROWS).toBeLessThan(40);
  });

  it("makes a new send, with the same id, once what it says changes", () => {
    const before = plan(def, def.registrations, at);
    const supers = def.audiences.supers ?? [];
    const renamed = { ...def, audiences: { ...def.audiences, supers: [...supers] } };
    renamed.audiences.supers[0] = { ...(supers[0] as (typeof supers)[0]), name: "Renamed" };
    const after = plan(renamed, def.registrations, at);
    expect(after[0]).not.toBe(before[0]);
    expect(after[0]).toEqual({ ...before[0], name: "Renamed" });
    expect(after[1]).toBe(before[1]);
  });
});

describe("send ids", () => {
  it("are the ids earlier versions gave: the ledger and the queue are keyed by them", () => {
    expect(
      sendId({ event: "ca-lmi-2017", step: "invitation-letter", recipient: "A@B.org", version: 0 }),
    ).toBe("ca-lmi-2017.invitation-letter.fe39775430630156");
  });
});
