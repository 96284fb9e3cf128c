import { DateTime } from "luxon";
import { describe, expect, it } from "vitest";
import { KINDS } from "../../jobs/index.js";
import { loadEventOrThrow } from "../../src/model/load.js";
import { runCli } from "../support/cli.js";

/** The done-when of the foundation, checked on the bundled CA LMI 2017 campaign through the CLI. */
describe("the bundled CA LMI 2017 example", () => {
  const def = loadEventOrThrow("events/ca-lmi-2017", KINDS);
  const supers = def.audiences.superintendents ?? [];
  const members = def.audiences["team-members"] ?? [];
  const registeredAt = new Map(
    def.registrations.map((r) => [r.team, DateTime.fromISO(r.registeredAt)]),
  );
  const r = runCli(["plan", "events/ca-lmi-2017", "--json"], { TZ: "Asia/Tokyo" });
  const sends = JSON.parse(r.stdout) as {
    id: string;
    step: string;
    kind: string;
    recipient: string;
    due: string;
    dueLocal: string;
    item?: string;
  }[];
  const of = (step: string) => sends.filter((s) => s.step === step);

  it("validates", () => {
    const v = runCli(["validate", "events/"]);
    expect(v.stderr).toBe("");
    expect(v.status).toBe(0);
  });

  it("has enough fictional recipients on reserved domains", () => {
    expect(supers.filter((s) => !s.team)).toHaveLength(58);
    expect(supers.filter((s) => s.team).length).toBeGreaterThanOrEqual(40);
    for (const p of [...supers, ...members])
      expect(p.email).toMatch(/@([a-z0-9-]+\.)*(example\.org|[a-z0-9-]+\.test)$/);
  });

  it("sends the letter on 2017-05-15 local to every superintendent", () => {
    expect(r.status).toBe(0);
    const letters = of("invitation-letter");
    expect(letters.map((s) => s.recipient).sort()).toEqual(supers.map((s) => s.email).sort());
    for (const s of letters) expect(s.dueLocal.slice(0, 10)).toBe("2017-05-15");
  });

  it("reminds before the deadline only superintendents whose team had not registered by then", () => {
    const deadline = DateTime.fromISO("2017-05-27T00:00", { zone: "America/Los_Angeles" });
    for (const step of ["reminder-7d", "reminder-1d"]) {
      const reminders = of(step);
      expect(reminders.length).toBeGreaterThan(0);
      const due = DateTime.fromISO(reminders[0]?.due as string);
      expect(due < deadline).toBe(true);
      const expected = supers
        .filter((p) => {
          const at = p.team ? registeredAt.get(p.team) : undefined;
          return !at || at > due;
        })
        .map((p) => p.email)
        .sort();
      expect(reminders.map((s) => s.recipient).sort()).toEqual(expected);
      expect(expected.length).toBeLessThan(supers.length);
    }
    // Some teams registered between the reminders: fewer get the second.
    expect(of("reminder-1d").length).toBeLessThan(of("reminder-7d").length);
  });

  it("invites the members of registered teams when their team registers", () => {
    const invites = of("calendar-invite");
    const registeredMembers = members.filter((m) => m.team && registeredAt.has(m.team));
    expect(new Set(invites.map((s) => s.recipient))).toEqual(
      new Set(registeredMembers.map((m) => m.email)),
    );
    for (const s of invites) {
      const m = members.find((x) => x.email === s.recipient);
      expect(DateTime.fromISO(s.due).toMillis()).toBe(
        registeredAt.get(m?.team as string)?.toMillis(),
      );
    }
    expect(new Set(invites.map((s) => s.item))).toEqual(
      new Set(["day-2017-06-20", "day-2017-06-21"]),
    );
  });

  it("sends the save-the-date and, after the institute ends, the press-release prompt", () => {
    expect(of("abc-save-the-date")).toHaveLength(supers.length);
    const end = DateTime.fromISO("2017-06-21T15:30", { zone: "America/Los_Angeles" });
    const prompts = of("press-release-prompt");
    expect(prompts.length).toBe(registeredAt.size);
    for (const s of prompts) expect(DateTime.fromISO(s.due) > end).toBe(true);
  });
});
